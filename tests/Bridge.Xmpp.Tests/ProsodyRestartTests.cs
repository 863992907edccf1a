using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Xmpp.Tests.Fixtures;

namespace Bridge.Xmpp.Tests;

/// <summary>Server restarts, on a Prosody of their own (other test classes must not see it go away).</summary>
public sealed class ProsodyRestartTests(ProsodyFixture fixture) : IClassFixture<ProsodyFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly ProsodyServer _server = fixture.Server;

    [Fact]
    public async Task After_a_server_restart_the_connector_reconnects_and_rejoins_its_puppets_before_sending()
    {
        var room = _server.NewRoom();
        var jid = await _server.NewUserAsync("carol");
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var alice = new PersonRef { NetworkId = ConnectorHarness.RemoteNetworkId, UserId = "alice", DisplayName = "Alice" };

        await using (var carol = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Carol"))
        {
            Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, room, "Alice", "before restart"), CancellationToken.None));
            await carol.WaitForMessagesAsync(m => m.Body == "before restart", 1, Wait);
        }

        await _server.StopAsync();
        var deadline = DateTime.UtcNow + Wait;
        while (bridge.Connector.IsReady && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.False(bridge.Connector.IsReady);
        var whileDown = await bridge.Connector.DeliverAsync(ConnectorHarness.Message(2, room, "Alice", "while down"), CancellationToken.None);
        Assert.False(Assert.IsType<DeliveryResult.RetryLater>(whileDown).CountsAsAttempt);

        await _server.StartAgainAsync();
        await bridge.WaitReadyAsync(TimeSpan.FromSeconds(30));
        // Ready means the puppet is back in the room already, under its own nick (no ghost, no suffix).
        Assert.Equal("Alice", bridge.Xmpp.JoinedNick(alice, room));
        Assert.True(bridge.Xmpp.ConnectionCount >= 2);

        await using var carol2 = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Carol");
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(ConnectorHarness.Message(2, room, "Alice", "while down"), CancellationToken.None));
        var seen = await carol2.WaitForMessagesAsync(m => m.Body == "while down", 1, Wait);
        Assert.Equal("Alice", seen[0].FromNick);

        await carol2.SayConfirmedAsync("hello after the restart");
        var events = await bridge.Sink.WaitForAsync(e => e.Text == "hello after the restart", 1, Wait);
        await Task.Delay(300);
        Assert.Single(bridge.Sink.All, e => e.Text == "hello after the restart");
        Assert.DoesNotContain(bridge.Sink.All, e => e.Text is "before restart" or "while down");
    }

    [Fact]
    public async Task Stopping_sends_unavailable_presence_so_no_ghost_puppets_remain()
    {
        var room = _server.NewRoom();
        var jid = await _server.NewUserAsync("dan");
        await using var dan = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Dan");
        await using (var bridge = await ConnectorHarness.StartAsync(_server, [room]))
        {
            await bridge.WaitReadyAsync();
            Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, room, "Bob", "hi"), CancellationToken.None));
            await dan.WaitForMessagesAsync(m => m.Body == "hi", 1, Wait);
        }

        // A real person taking the nick proves the puppet left: a ghost would hold it and answer 409.
        var other = await _server.NewUserAsync("bob");
        await using var bob = await XmppPerson.JoinAsync(other, "pass", _server.C2sPort, room, "Bob");
        Assert.Equal("Bob", bob.Nick);
    }
}

/// <summary>The bridge process dying (SIGKILL) and coming back with its saved state.</summary>
public sealed class BridgeCrashTests(ProsodyFixture fixture) : IClassFixture<ProsodyFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly ProsodyServer _server = fixture.Server;

    [Fact]
    public async Task After_a_crash_nothing_is_lost_or_sent_twice_and_ghost_puppets_are_taken_back()
    {
        var room = _server.NewRoom();
        var jid = await _server.NewUserAsync("hank");
        var state = new InMemoryStateStore();
        await using var hank = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Hank");
        await using var first = await ConnectorHarness.StartAsync(_server, [room], state);
        await first.WaitReadyAsync();
        await hank.SayConfirmedAsync("warm-up");
        await first.Sink.WaitForAsync(e => e.Text == "warm-up", 1, Wait);
        await Task.Delay(2500); // the saved position trails by a tick

        var sent = await first.Connector.DeliverAsync(ConnectorHarness.Message(7, room, "Alice", "sent just before the crash"), CancellationToken.None);
        var sentId = Assert.IsType<DeliveryResult.Delivered>(sent).NativeId;
        await first.Xmpp.SimulateCrashAsync(); // the core had not recorded the delivery yet

        await hank.SayConfirmedAsync("while the bridge is dead 1");
        await hank.SayConfirmedAsync("while the bridge is dead 2");
        await hank.WaitForMessagesAsync(m => m.Body.StartsWith("while the bridge is dead", StringComparison.Ordinal), 2, Wait);

        await using var second = await ConnectorHarness.StartAsync(_server, [room], state);
        await second.WaitReadyAsync();
        // The outbox row is retried: recognised in the archive, not sent again.
        var again = await second.DeliverAsync(ConnectorHarness.Message(7, room, "Alice", "sent just before the crash"));
        Assert.Equal(sentId, Assert.IsType<DeliveryResult.Delivered>(again).NativeId);
        // The ghost puppet (same JID, same nick) is taken back, not pushed to "Alice (2)".
        Assert.IsType<DeliveryResult.Delivered>(await second.DeliverAsync(ConnectorHarness.Message(8, room, "Alice", "back again")));

        var fromAlice = await hank.WaitForMessagesAsync(m => m.Body == "back again", 1, Wait);
        Assert.Equal("Alice", fromAlice[0].FromNick);
        await Task.Delay(300);
        Assert.Single(hank.Messages, m => m.Body == "sent just before the crash");
        await second.Sink.WaitForAsync(e => e.Text.StartsWith("while the bridge is dead", StringComparison.Ordinal), 2, Wait);
        Assert.Equal(["while the bridge is dead 1", "while the bridge is dead 2"], second.Sink.All.Select(e => e.Text));
    }
}
