using Bridge.Testing;
using Bridge.Xmpp.Tests.Fixtures;

namespace Bridge.Xmpp.Tests;

/// <summary>
/// The id the bridge gives a room occupant never carries a real JID the room does not show to everyone: the bridge's
/// component may be a moderator of a semi-anonymous room and be told JIDs that members are not.
/// </summary>
public sealed class OccupantIdentityTests
{
    private const string Room = "ops@conference.localhost";
    private const string Secret = "s3cret";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static string Occupant(string nick, string realJid, string? occupantId = null, string extra = "") =>
        $"<presence from='{Room}/{nick}' to='bridge.localhost'><x xmlns='http://jabber.org/protocol/muc#user'>" +
        $"<item affiliation='member' role='participant' jid='{realJid}/phone'/>{extra}</x>" +
        (occupantId is null ? "" : $"<occupant-id xmlns='urn:xmpp:occupant-id:0' id='{occupantId}'/>") + "</presence>";

    private static string Say(string nick, string id, string body) =>
        $"<message type='groupchat' from='{Room}/{nick}' to='bridge.localhost' id='{id}'><body>{body}</body><stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='S{id}'/></message>";

    [Fact]
    public async Task In_a_semi_anonymous_room_a_real_jid_the_bridge_sees_becomes_a_keyed_hash_that_survives_nick_changes_and_restarts()
    {
        var state = new InMemoryStateStore();
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(Room);
            if (index > 0)
            {
                await session.SendAsync(Occupant("alicia", "alice@example.org") + Say("alicia", "r1", "after the restart"));
                return;
            }

            await session.SendAsync(
                Occupant("alice", "alice@example.org") + Say("alice", "a1", "first") +
                // Alice changes her nick (XEP-0045 §7.6): unavailable with 303, then present again under the new nick.
                $"<presence type='unavailable' from='{Room}/alice' to='bridge.localhost'><x xmlns='http://jabber.org/protocol/muc#user'>" +
                $"<item affiliation='member' role='participant' nick='alicia' jid='alice@example.org/phone'/><status code='303'/></x></presence>" +
                Occupant("alicia", "alice@example.org") + Say("alicia", "a2", "renamed") +
                Occupant("bob", "bob@example.org", occupantId: "b0bz") + Say("bob", "b1", "with an occupant id") +
                // The room is made non-anonymous (XEP-0045 status 172): from now on the real JID is everyone's to see.
                $"<message type='groupchat' from='{Room}' to='bridge.localhost' id='c1'><x xmlns='http://jabber.org/protocol/muc#user'><status code='172'/></x></message>" +
                Say("alicia", "a3", "now public"));
        });

        await using (var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room], state))
        {
            await bridge.Sink.WaitForAsync(e => e.Text == "now public", 1, Wait);
            var events = bridge.Sink.All.ToDictionary(e => e.Text, e => e.Sender);
            var hidden = events["first"].UserId;
            Assert.StartsWith("hidden:" + Room + ":", hidden, StringComparison.Ordinal);
            Assert.DoesNotContain("alice", hidden, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("example.org", hidden, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(hidden, events["renamed"].UserId);
            Assert.Equal(("alicia", "alicia"), (events["renamed"].DisplayName, events["renamed"].Handle));
            Assert.Equal($"occupant-id:{Room}:b0bz", events["with an occupant id"].UserId);
            Assert.Equal("alice@example.org", events["now public"].UserId);
            Assert.All(bridge.Sink.All.Where(e => e.Text != "now public"), e => Assert.DoesNotContain("alice@", e.Sender.Key, StringComparison.Ordinal));

            // A second run with the same store: the salt is kept, so the same person gets the same id.
            await bridge.Connector.StopAsync(CancellationToken.None);
            await using var again = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room], state);
            await again.Sink.WaitForAsync(e => e.Text == "after the restart", 1, Wait);
            Assert.Equal(hidden, again.Sink.All.Single(e => e.Text == "after the restart").Sender.UserId);
        }
    }

    [Fact]
    public async Task A_non_anonymous_room_keeps_the_real_jid_as_the_id()
    {
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(Room, nonAnonymous: true);
            await session.SendAsync(Occupant("alice", "alice@example.org") + Say("alice", "a1", "hello") +
                // The room becomes semi-anonymous (status 173): real JIDs are no longer anyone's to show.
                $"<message type='groupchat' from='{Room}' to='bridge.localhost' id='c1'><x xmlns='http://jabber.org/protocol/muc#user'><status code='173'/></x></message>" +
                Say("alice", "a2", "hidden again"));
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room]);
        await bridge.Sink.WaitForAsync(e => e.Text == "hidden again", 1, Wait);
        Assert.Equal("alice@example.org", bridge.Sink.All.Single(e => e.Text == "hello").Sender.UserId);
        Assert.StartsWith("hidden:", bridge.Sink.All.Single(e => e.Text == "hidden again").Sender.UserId, StringComparison.Ordinal);
    }
}

/// <summary>A puppet never takes a nick that reads like the nick of a real person of the room.</summary>
public sealed class PuppetNickTests
{
    private const string Room = "ops@conference.localhost";
    private const string Secret = "s3cret";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData("alice", "alice (remote)")]
    [InlineData("A l i c e!", "A l i c e! (remote)")]
    [InlineData("A1ice", "A1ice (remote)")]
    [InlineData("Bob", "Bob")]
    public async Task A_name_like_a_real_persons_nick_is_marked_with_the_network(string name, string expectedNick)
    {
        var joinedAs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(Room);
            await session.SendAsync($"<presence from='{Room}/Alice' to='bridge.localhost'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant'/></x></presence>");
            var join = await session.WaitForAsync(new System.Text.RegularExpressions.Regex($"<presence[^>]*from=\"([^\"]+@bridge.localhost)\"[^>]*to=\"{System.Text.RegularExpressions.Regex.Escape(Room)}/([^\"]+)\""), Wait);
            var nick = System.Net.WebUtility.HtmlDecode(join.Groups[2].Value);
            joinedAs.TrySetResult(nick);
            await session.SendAsync($"<presence from='{Room}/{System.Security.SecurityElement.Escape(nick)}' to='{join.Groups[1].Value}'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/><status code='110'/></x></presence>");
            await session.WaitForAsync(new System.Text.RegularExpressions.Regex("<message[^>]*id=\"(bridge-1)\""), Wait);
            await session.SendAsync($"<message type='groupchat' from='{Room}/{System.Security.SecurityElement.Escape(nick)}' to='bridge.localhost' id='bridge-1'><body>hi</body><stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='s-1'/></message>");
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room]);
        await bridge.WaitReadyAsync(Wait);
        await Task.Delay(200); // the room's occupant list reaches the bot first, as on join
        var result = await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, Room, name, "hi"), CancellationToken.None);
        Assert.IsType<Bridge.Core.Connectors.DeliveryResult.Delivered>(result);
        Assert.Equal(expectedNick, await joinedAs.Task.WaitAsync(Wait));
    }
}
