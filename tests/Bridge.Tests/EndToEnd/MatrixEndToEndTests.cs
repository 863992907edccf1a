using Bridge.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// The daemon between the sandbox homeserver (hosted in this process, the bridge as its application service) and a real
/// Prosody with real slixmpp people.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class MatrixEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = ThreeNetworks.Long;
    private static readonly ThreeNetworksOptions MatrixAndXmpp = new() { Mattermost = false };

    [Fact]
    public async Task Matrix_and_xmpp_people_exchange_100_messages_each_way_once_in_order_as_named_puppets()
    {
        await using var net = await ThreeNetworks.StartAsync(MatrixAndXmpp);
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        await WarmUpAsync(net, alice);

        var fromAlice = Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await alice.SayAsync($"x-{i}");
            }
        });
        for (var i = 0; i < 100; i++)
        {
            net.BobSays($"m-{i}");
        }

        await fromAlice;
        await alice.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith("m-", StringComparison.Ordinal)) >= 100, Long, "Bob's 100 messages");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("x-").Count >= 100, Long, "Alice's 100 messages on Matrix",
            () => $"{net.MatrixMessages("x-").Count} arrived");
        await Task.Delay(1500); // a doubled delivery or an echo would show by now

        // Matrix → XMPP: Bob's puppet speaks under his Matrix display name.
        ThreeNetworks.AssertXmppExactlyInOrder(alice.Messages, "m-", 100, "Bob");
        // XMPP → Matrix: one puppet in the bridge's namespace, named after Alice.
        var puppet = net.AssertMatrixExactlyInOrder("x-", 100, "Alice");
        Assert.Contains(puppet, net.Hs.GetMembers(net.MatrixRoom));
        // No echo either way: Bob's own messages exist once on Matrix (his), Alice's once on XMPP (her reflection).
        Assert.Equal(ThreeNetworks.Expected("m-", 100), net.MatrixMessages("m-").Select(m => m.Body).ToList());
        Assert.All(net.MatrixMessages("m-"), m => Assert.Equal(net.Bob!.UserId, m.Sender));
        ThreeNetworks.AssertXmppExactlyInOrder(alice.Messages, "x-", 100, "Alice");
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetPendingEventCount("bridge") == 0, TimeSpan.FromSeconds(10), "every transaction acknowledged");
    }

    [Fact]
    public async Task Acknowledged_transactions_survive_sigkill_before_delivery_and_arrive_once_after_restart()
    {
        await using var net = await ThreeNetworks.StartAsync(MatrixAndXmpp);
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        await WarmUpAsync(net, alice);
        await alice.DisposeAsync();

        // XMPP down: deliveries toward it can only wait in the outbox.
        await net.Xmpp.StopAsync();
        var acknowledgedBefore = net.Hs.GetTransactionAttempts("bridge").Count(a => a.Succeeded);
        for (var i = 0; i < 20; i++)
        {
            net.BobSays($"queued-{i}");
        }

        // The homeserver has its 2xx for every event (it will never push them again) and the rows are durable.
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetPendingEventCount("bridge") == 0, TimeSpan.FromSeconds(30), "transactions acknowledged");
        Assert.True(net.Hs.GetTransactionAttempts("bridge").Count(a => a.Succeeded) > acknowledgedBefore);
        await net.WaitForPendingAsync("xmpp", 20);

        await bridge.KillAsync();
        Assert.NotEqual(0, bridge.ExitCode);
        await net.Xmpp.StartAgainAsync();
        await net.StartBridgeAsync();

        var aliceAgain = await net.AliceAsync(history: 50);
        await aliceAgain.WaitForAsync(ms => Enumerable.Range(0, 20).All(i => ms.Any(m => m.Body == $"queued-{i}")), Long, "the 20 queued messages");
        await Task.Delay(1500);
        ThreeNetworks.AssertXmppExactlyInOrder(aliceAgain.Messages, "queued-", 20, "Bob");
        await net.WaitForPendingAsync("xmpp", 0);
        // Nothing went back to Matrix: the room holds Bob's 20 messages once.
        Assert.Equal(ThreeNetworks.Expected("queued-", 20), net.MatrixMessages("queued-").Select(m => m.Body).ToList());
    }

    [Fact]
    public async Task Homeserver_down_for_30_seconds_xmpp_keeps_talking_and_matrix_gets_everything_once()
    {
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { Mattermost = false, SecondXmpp = true });
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        var dave = await net.DaveAsync();
        await WarmUpAsync(net, alice);
        await alice.SayAsync("warm-up to dave");
        await dave.WaitForAsync(ms => ms.Any(m => m.Body == "warm-up to dave"), Long, "Alice's warm-up on the second XMPP server");
        await dave.SayAsync("warm-up from dave");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("warm-up from dave").Count == 1, Long, "Dave's warm-up on Matrix");

        await net.Hs.StopAsync();
        var started = DateTime.UtcNow;
        for (var i = 0; i < 10; i++)
        {
            await alice.SayAsync($"outage-{i}");
            // The XMPP side keeps working while the homeserver is down: each message crosses to the other server at once.
            await dave.WaitForAsync(ms => ms.Any(m => m.Body == $"outage-{i}"), TimeSpan.FromSeconds(10), $"outage-{i} at Dave during the outage");
            await dave.SayAsync($"dave-{i}");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body == $"dave-{i}"), TimeSpan.FromSeconds(10), $"dave-{i} at Alice during the outage");
            var wait = started + TimeSpan.FromSeconds(3 * (i + 1)) - DateTime.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
        }

        // Timers may wake a few milliseconds early against the wall clock: make the outage last its full length.
        while (DateTime.UtcNow - started < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20);
        }

        Assert.Empty(net.MatrixMessages("outage-"));
        // Alice's and Dave's 20 messages wait in the outbox for the homeserver.
        Assert.Equal(20, ThreeNetworks.PendingRows(net.DatabasePath, "matrix"));
        await net.Hs.StartAsync();

        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("outage-").Count >= 10 && net.MatrixMessages("dave-").Count >= 10,
            Long, "the 20 messages sent during the outage on Matrix", () => bridge.Output[^Math.Min(bridge.Output.Length, 3000)..]);
        await Task.Delay(1500);
        net.AssertMatrixExactlyInOrder("outage-", 10, "Alice");
        net.AssertMatrixExactlyInOrder("dave-", 10, "Dave");
        ThreeNetworks.AssertXmppExactlyInOrder(dave.Messages, "outage-", 10, "Alice");
        ThreeNetworks.AssertXmppExactlyInOrder(alice.Messages, "dave-", 10, "Dave");

        // And Matrix speaks again.
        net.BobSays("back");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "back" && m.FromNick == "Bob"), Long, "Bob after the outage at Alice");
        await dave.WaitForAsync(ms => ms.Any(m => m.Body == "back" && m.FromNick == "Bob"), Long, "Bob after the outage at Dave");
        output.WriteLine(bridge.Output[^Math.Min(bridge.Output.Length, 2000)..]);
    }

    /// <summary>Both directions work (puppets exist and joined) before a test starts counting.</summary>
    internal static async Task WarmUpAsync(ThreeNetworks net, XmppPerson alice)
    {
        await alice.SayAsync("warm-up from alice");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("warm-up from alice").Count == 1, Long, "Alice's warm-up on Matrix");
        net.BobSays("warm-up from bob");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "warm-up from bob"), Long, "Bob's warm-up");
    }
}
