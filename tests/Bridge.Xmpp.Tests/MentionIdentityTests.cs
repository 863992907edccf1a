using System.Xml.Linq;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;

namespace Bridge.Xmpp.Tests;

/// <summary>
/// A person named by a mention reference is the same person their own messages come from, with an id that shows no
/// more of them than the room does (OccupantIdentity): in a room that hides real JIDs, the JID the bridge sees as a
/// moderator never leaves it through a mention.
/// </summary>
public sealed class MentionIdentityTests
{
    private static readonly XmppConnector Connector = new(
        new Bridge.Core.Configuration.NetworkDefinition { Id = "xmpp-a", Kind = Bridge.Core.Model.NetworkKind.Xmpp, Organisation = "org-x" },
        new XmppOptions { Host = "127.0.0.1", ComponentDomain = "bridge.localhost", Secret = "s" },
        new Bridge.Core.Connectors.ConnectorContext
        {
            Sink = null!, // the translation reaches neither the sink nor the store
            State = null!,
            Topology = new Bridge.Core.Configuration.BridgeTopology([], []),
            LoggerFactory = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance,
        });

    private static XElement Message(string nick, string id, string body, string extra = "") => XElement.Parse(
        $"<message xmlns='jabber:component:accept' type='groupchat' from='ops@conference.localhost/{nick}' to='bridge.localhost' id='{id}'>" +
        $"<body>{body}</body>{extra}</message>");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_mentioned_occupant_is_the_person_their_messages_come_from_and_a_hidden_jid_stays_hidden(bool realJidsPublic)
    {
        var room = new RoomState("room", new Jid("ops", "conference.localhost", null)) { RealJidsPublic = realJidsPublic };
        room.Occupants["bob"] = new OccupantInfo("bob@localhost/phone", null); // no XEP-0421 occupant id in this room
        var fromBob = Connector.Translate(room, Message("bob", "m1", "hi"), live: true, archiveStanzaId: null)!;
        var mention = Connector.Translate(room, Message("eve", "m2", "bob: hello",
            "<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:ops@conference.localhost/bob' begin='0' end='3'/>"), live: true, archiveStanzaId: null)!;

        var person = Assert.Single(mention.Mentions).Person;
        Assert.Equal(fromBob.Sender.UserId, person.UserId);
        if (!realJidsPublic)
        {
            Assert.DoesNotContain("bob@localhost", person.UserId, StringComparison.Ordinal);
        }
    }
}
