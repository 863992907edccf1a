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
    [Fact]
    public async Task A_blocked_matrix_message_is_told_to_its_sender_once_per_burst_in_a_direct_room_and_never_in_the_shared_room()
    {
        await using var net = await ThreeNetworks.StartAsync(MatrixAndXmpp, b => b.Raw("""
            policy:
              labels: [UNCLASSIFIED, SECRET]
              networks:
                xmpp: { clearance: UNCLASSIFIED }
                matrix: { clearance: SECRET }
            """));
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        try
        {
            // Warm-up (labelled on the way: the policy marks what it delivers).
            await alice.SayAsync("warm-up from alice");
            await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("[UNCLASSIFIED] warm-up from alice").Count == 1, Long, "Alice's warm-up on Matrix");
            net.BobSays("warm-up from bob");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body.EndsWith("warm-up from bob", StringComparison.Ordinal)), Long, "Bob's warm-up");
            var sharedBefore = net.Hs.GetTimeline(net.MatrixRoom).Count;

            // A burst of five blocked messages.
            for (var i = 0; i < 5; i++)
            {
                net.BobSays($"[SECRET] s-{i}");
            }

            string? dm = null;
            await ThreeNetworks.WaitUntilAsync(() =>
            {
                dm = net.Hs.GetAccountData(ThreeNetworks.Bot, "m.direct")?[net.Bob!.UserId]?[0]?.GetValue<string>();
                return dm is not null && net.Hs.GetMessages(dm).Count > 0;
            }, Long, "the notice in a direct room");

            // Later messages cross, so the burst has been routed (and its notices decided) by then.
            net.BobSays("after the burst");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body.EndsWith("after the burst", StringComparison.Ordinal)), Long, "Bob's next message");
            await Task.Delay(1500);

            var notices = net.Hs.GetMessages(dm!);
            var notice = Assert.Single(notices);
            Assert.Equal(ThreeNetworks.Bot, notice["sender"]!.GetValue<string>());
            Assert.Equal("m.notice", notice["content"]!["msgtype"]!.GetValue<string>());
            Assert.Equal("Your message was not shared with network 'xmpp' (rule: clearance).", notice["content"]!["body"]!.GetValue<string>());
            var invite = net.Hs.GetTimeline(dm!).Single(e => e["type"]!.GetValue<string>() == "m.room.member" && e["state_key"]!.GetValue<string>() == net.Bob!.UserId);
            Assert.True(invite["content"]!["is_direct"]!.GetValue<bool>());
            Assert.Equal([ThreeNetworks.Bot], net.Hs.GetMembers(dm!));

            // The shared room got Bob's own messages and nothing from the bridge bot; XMPP got none of the SECRET ones.
            var added = net.Hs.GetTimeline(net.MatrixRoom).Skip(sharedBefore).ToList();
            Assert.DoesNotContain(added, e => e["sender"]!.GetValue<string>() == ThreeNetworks.Bot);
            Assert.DoesNotContain(alice.Messages, m => m.Body.Contains("s-", StringComparison.Ordinal) && m.Body.Contains("SECRET", StringComparison.Ordinal));
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    [Fact]
    public async Task A_200_KB_xmpp_message_arrives_on_matrix_in_order_in_several_events_with_nothing_lost()
    {
        await using var net = await ThreeNetworks.StartAsync(MatrixAndXmpp);
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        try
        {
            await WarmUpAsync(net, alice);
            var lines = Enumerable.Range(0, 3700).Select(i => $"big-{i:D4} the quick brown fox jumps over the lazy dog {i}");
            var text = "big: " + string.Join("\n", lines);
            Assert.True(text.Length >= 200 * 1000);
            await alice.SayAsync(text);
            net.BobSays("bob after big");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body == "bob after big"), Long, "Bob's message after");
            await ThreeNetworks.WaitUntilAsync(() => string.Concat(net.MatrixMessages("big").Select(m => m.Body)).Contains("big-3699", StringComparison.Ordinal),
                Long, "the last part on Matrix");
            await Task.Delay(1000);

            var parts = net.MatrixMessages("big");
            Assert.True(parts.Count >= 4, $"expected several events, got {parts.Count}");
            Assert.All(parts, p => Assert.Equal(parts[0].Sender, p.Sender));
            Assert.Equal(text, string.Concat(parts.Select(p => p.Body)));
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    internal static async Task WarmUpAsync(ThreeNetworks net, XmppPerson alice)
    {
        await alice.SayAsync("warm-up from alice");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("warm-up from alice").Count == 1, Long, "Alice's warm-up on Matrix");
        net.BobSays("warm-up from bob");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "warm-up from bob"), Long, "Bob's warm-up");
    }
}
