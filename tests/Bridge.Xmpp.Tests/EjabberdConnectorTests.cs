using Bridge.Core.Connectors;
using Bridge.Xmpp.Tests.Fixtures;

namespace Bridge.Xmpp.Tests;

/// <summary>The same component against ejabberd: decimal stream ids, no MUC archive (no stanza-ids), its own MUC.</summary>
public sealed class EjabberdConnectorTests(EjabberdFixture fixture) : IClassFixture<EjabberdFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly EjabberdServer _server = fixture.Server;

    [Fact]
    public Task A_run_of_one_senders_messages_arrives_once_in_order() => RunScenarios.ARunArrivesOnceInOrderAsync(_server, stanzaIds: false);

    [Fact]
    public async Task Messages_flow_both_ways_exactly_once_and_a_puppet_named_like_a_real_person_is_marked()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync(TimeSpan.FromSeconds(30));
        var jid = await _server.NewUserAsync("alice");
        await using var alice = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Alice");

        for (var i = 0; i < 5; i++)
        {
            await alice.SayConfirmedAsync($"to the bridge {i}");
            Assert.IsType<DeliveryResult.Delivered>(
                await bridge.Connector.DeliverAsync(ConnectorHarness.Message(10 + i, room, "Alice", $"from the bridge {i}"), CancellationToken.None));
        }

        await bridge.Sink.WaitForAsync(e => e.Text.StartsWith("to the bridge", StringComparison.Ordinal), 5, Wait);
        var received = await alice.WaitForMessagesAsync(m => m.Body.StartsWith("from the bridge", StringComparison.Ordinal), 5, Wait);
        await Task.Delay(300);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"to the bridge {i}"), bridge.Sink.All.Select(e => e.Text));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"from the bridge {i}"), alice.Messages.Where(m => m.Body.StartsWith("from the bridge", StringComparison.Ordinal)).Select(m => m.Body));
        Assert.All(received, m => Assert.Equal("Alice (remote)", m.FromNick)); // the real Alice is in the room
    }

    [Fact]
    public Task Self_pings_are_answered_so_a_healthy_connection_is_kept() => SharedScenarios.SelfPingsKeepAHealthyConnectionAsync(_server);

    [Fact]
    public async Task Without_a_room_archive_an_outage_is_caught_up_from_the_join_history()
    {
        var room = _server.NewRoom();
        var jid = await _server.NewUserAsync("lou");
        var state = new InMemoryStateStore();
        await using var lou = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Lou");
        await using (var first = await ConnectorHarness.StartAsync(_server, [room], state))
        {
            await first.WaitReadyAsync(TimeSpan.FromSeconds(30));
            await lou.SayConfirmedAsync("seen live");
            await first.Sink.WaitForAsync(e => e.Text == "seen live", 1, Wait);
            await Task.Delay(1500); // the last message time is saved
        }

        await lou.SayConfirmedAsync("missed 1");
        await lou.SayConfirmedAsync("missed 2");
        await lou.WaitForMessagesAsync(m => m.Body.StartsWith("missed", StringComparison.Ordinal), 2, Wait);

        await using var second = await ConnectorHarness.StartAsync(_server, [room], state);
        await second.WaitReadyAsync(TimeSpan.FromSeconds(30));
        await lou.SayConfirmedAsync("live again");
        await second.Sink.WaitForAsync(e => e.Text == "live again", 1, Wait);
        await Task.Delay(300);
        Assert.Equal(["missed 1", "missed 2", "live again"], second.Sink.All.Select(e => e.Text));
    }
}
