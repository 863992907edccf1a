using Bridge.Matrix.Tests.Support;

namespace Bridge.Matrix.Tests;

public sealed class RestartTests
{
    [Fact]
    public async Task Events_sent_while_the_bridge_is_down_arrive_once_after_it_restarts()
    {
        await using var h = await BridgeHarness.StartAsync();
        var listen = h.Connector.ListenUrl!;
        await h.Connector.StopAsync(CancellationToken.None);

        var whileDown = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "sent while the bridge was down");
        await BridgeHarness.WaitUntilAsync(() => h.Sandbox.GetTransactionAttempts("bridge").Any(a => a.Status is null));

        // A fresh process: same durable state, same listen address, no in-memory room map yet.
        await using var restarted = BridgeHarness.CreateConnector(h.Sandbox.BaseUrl, h.Sink, h.State, $"http://127.0.0.1:{listen.Port}");
        await restarted.StartAsync(CancellationToken.None);
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == whileDown));
        await BridgeHarness.WaitUntilAsync(() => h.Sandbox.GetPendingEventCount("bridge") == 0);
        var e = Assert.Single(h.Sink.Accepted, x => x.NativeId == whileDown);
        Assert.Equal(BridgeHarness.Channel, e.ChannelId);
    }

    [Fact]
    public async Task Stopping_with_leave_puppets_on_stop_takes_puppets_but_not_the_bot_out_of_the_rooms()
    {
        await using var h = await BridgeHarness.StartAsync(connectorOptions: o => o.LeavePuppetsOnStop = true);
        await h.Connector.DeliverAsync(h.Request(1, "before"), CancellationToken.None);
        var puppet = BridgeHarness.CarolPuppet;
        Assert.Contains(puppet, h.Sandbox.GetMembers(h.RoomId));
        await h.Connector.StopAsync(CancellationToken.None);
        Assert.DoesNotContain(puppet, h.Sandbox.GetMembers(h.RoomId));
        Assert.Contains(BridgeHarness.Bot, h.Sandbox.GetMembers(h.RoomId));
    }
}
