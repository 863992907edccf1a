using Bridge.Core.Connectors;
using Bridge.Xmpp.Tests.Fixtures;

namespace Bridge.Xmpp.Tests;

/// <summary>The same component against ejabberd: decimal stream ids, no MUC archive (no stanza-ids), its own MUC.</summary>
public sealed class EjabberdConnectorTests(EjabberdServer server) : IClassFixture<EjabberdServer>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Messages_flow_both_ways_exactly_once_and_nick_conflicts_are_resolved()
    {
        var room = server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(server, [room]);
        await bridge.WaitReadyAsync(TimeSpan.FromSeconds(30));
        var jid = await server.NewUserAsync("alice");
        await using var alice = await XmppPerson.StartAsync(jid, "pass", server.ClientPort, room, "Alice");

        for (var i = 0; i < 5; i++)
        {
            await alice.SayAsync($"to the bridge {i}");
            Assert.IsType<DeliveryResult.Delivered>(
                await bridge.Connector.DeliverAsync(ConnectorHarness.Message(10 + i, room, "Alice", $"from the bridge {i}"), CancellationToken.None));
        }

        await bridge.Sink.WaitForAsync(e => e.Text.StartsWith("to the bridge", StringComparison.Ordinal), 5, Wait);
        var received = await alice.WaitForMessagesAsync(m => m.Body.StartsWith("from the bridge", StringComparison.Ordinal), 5, Wait);
        await Task.Delay(300);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"to the bridge {i}"), bridge.Sink.All.Select(e => e.Text));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"from the bridge {i}"), alice.Messages.Where(m => m.Body.StartsWith("from the bridge", StringComparison.Ordinal)).Select(m => m.Body));
        Assert.All(received, m => Assert.Equal("Alice (2)", m.FromNick));
    }
}
