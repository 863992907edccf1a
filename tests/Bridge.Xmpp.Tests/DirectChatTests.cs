using System.Xml.Linq;
using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Tests.Fixtures;

namespace Bridge.Xmpp.Tests;

/// <summary>The trust boundaries of XMPP direct chats: labels read as in rooms, only plain accounts of allowed domains.</summary>
public sealed class DirectChatTests
{
    private static readonly string[] Server = ["localhost"];

    [Fact]
    public void A_chat_labelled_only_by_its_securitylabel_carries_the_label()
    {
        var message = XElement.Parse("""
            <message xmlns="jabber:component:accept" type="chat" id="m1" from="alice@localhost/phone" to="carol@bridge.localhost">
              <body>launch codes</body>
              <securitylabel xmlns="urn:xmpp:sec-label:0"><displaymarking>SECRET</displaymarking><label/></securitylabel>
            </message>
            """);
        var ev = XmppConnector.DirectChatEvent(message, Jid.Parse("alice@localhost/phone"), "xmpp-a", "alice@localhost|carol@bridge.localhost", DateTimeOffset.UnixEpoch);
        Assert.Equal(["SECRET"], ev.StructuredLabels);
        Assert.Equal("alice@localhost/m1", ev.NativeId);
    }

    [Fact]
    public void An_empty_securitylabel_in_a_chat_still_counts_as_a_label()
    {
        var message = XElement.Parse("""
            <message xmlns="jabber:component:accept" type="chat" id="m2"><body>x</body><securitylabel xmlns="urn:xmpp:sec-label:0"/></message>
            """);
        var ev = XmppConnector.DirectChatEvent(message, Jid.Parse("alice@localhost/phone"), "xmpp-a", "c", DateTimeOffset.UnixEpoch);
        Assert.Single(ev.StructuredLabels);
    }

    [Fact]
    public void A_direct_delivery_adds_the_securitylabel_as_a_room_delivery_does()
    {
        var message = new XElement(Ns.Component + "message");
        XmppConnector.AddSecurityLabel(message, "SECRET");
        Assert.Equal("SECRET", XmppConnector.SecurityLabelsOf(message).Single());
    }

    [Theory]
    [InlineData("alice@localhost", true)]
    [InlineData("ALICE@LocalHost", true)]
    [InlineData("ops@conference.localhost/alice", false)] // a room occupant's fallback id
    [InlineData("alice@localhost/phone", false)]
    [InlineData("ops@conference.localhost", false)]
    [InlineData("mallory@evil.example", false)]
    [InlineData("localhost", false)]
    [InlineData("not a jid@@", false)]
    public void Only_plain_bare_jids_of_allowed_domains_are_direct_targets(string userId, bool accepted) =>
        Assert.Equal(accepted, XmppConnector.IsDirectAccount(userId, Server));

    [Theory]
    [InlineData("alice@localhost/phone", true)]
    [InlineData("mallory@evil.example/x", false)]
    [InlineData("localhost", false)]
    public void Only_accounts_of_allowed_domains_open_direct_chats(string from, bool accepted) =>
        Assert.Equal(accepted, XmppConnector.IsDirectInitiator(Jid.Parse(from), Server));

    [Fact]
    public void DirectMessagesFrom_defaults_to_the_server_domain_and_is_validated()
    {
        Assert.Equal(["localhost"], new XmppOptions { ComponentDomain = "bridge.localhost" }.DirectDomains());
        Assert.Equal(["a.example", "b.example"], new XmppOptions { ComponentDomain = "bridge.localhost", DirectMessagesFrom = ["A.example", "b.example"] }.DirectDomains());

        var network = new NetworkDefinition { Id = ConnectorHarness.NetworkId, Kind = NetworkKind.Xmpp };
        var section = ConnectorHarness.Section("127.0.0.1", 5347, "bridge.localhost", "s", new Dictionary<string, string?>
        {
            ["directMessagesFrom:0"] = "localhost",
            ["directMessagesFrom:1"] = "not a domain",
        });
        var keys = new XmppConnectorFactory().Validate(network, section).Select(e => e.Key).ToList();
        Assert.Equal(["networks:xmpp-a:xmpp:directMessagesFrom:1"], keys);
    }
}
