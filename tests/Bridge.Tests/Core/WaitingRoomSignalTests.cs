using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Delivery.Fairness;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using Bridge.Core.Storage;
using Bridge.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Core;

/// <summary>
/// A room over its rate waits; the commits of its own backlog must not send the worker back to the store each time
/// (on a real flood that read cost milliseconds per commit and held the store's one connection from everyone else),
/// while a row for another room still goes at once and the waiting room still goes when its wait ends.
/// </summary>
public sealed class WaitingRoomSignalTests
{
    [Fact]
    public async Task Commits_for_a_room_over_its_rate_do_not_send_the_worker_back_to_the_store_but_another_rooms_do()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks("flood", "quiet"));
        await h.Store.MigrateAsync(default);
        var store = CountingStore.Over(h.Store);
        var worker = Worker(h, store, new LimitsOptions { SenderPerSecond = 0.1, SenderBurst = 1, LinkPerSecond = 0 });
        await WhileRunningAsync(worker, async () =>
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "flood", "f0", "flood 0", user: "mallory"), default);
            await WaitUntil(() => h.Connectors["b"].Delivered.Count == 1, "the flood's first message (its burst)");

            // Mallory's next token is ten seconds away: her room waits, and her 200 commits each signal the worker.
            var readsBefore = Reads(store);
            for (var i = 1; i <= 200; i++)
            {
                await h.Router.IngestAsync(CoreHarness.Message("a", "flood", $"f{i}", $"flood {i}", user: "mallory"), default);
            }

            // One read after the first of them at most (the pass that finds her room waiting), none per commit: before,
            // every commit that found the worker waiting made it read the outbox again, leaving her room out.
            Assert.InRange(Reads(store) - readsBefore, 0, 3);

            await h.Router.IngestAsync(CoreHarness.Message("a", "quiet", "q0", "quiet 0", user: "bob"), default);
            await WaitUntil(() => h.Connectors["b"].Delivered.Any(d => d.Event.Text == "quiet 0"), "the quiet room's message");
            Assert.Equal(["flood 0", "quiet 0"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        });
    }

    [Fact]
    public async Task A_room_still_goes_when_its_wait_ends_while_another_waiting_rooms_commits_keep_signalling()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks("paced", "stuck"));
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].Behaviour = r => r.Destination.ChannelId == "stuck" ? new DeliveryResult.RetryLater("down", TimeSpan.FromMinutes(5)) : null;
        for (var i = 0; i < 4; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "paced", $"p{i}", $"paced {i}", user: "mallory"), default);
        }

        var worker = Worker(h, h.Store, new LimitsOptions { SenderPerSecond = 10, SenderBurst = 1, LinkPerSecond = 0 });
        await WhileRunningAsync(worker, async () =>
        {
            // Mallory's room goes one message every 100 ms; the stuck room waits five minutes and its commits come far more
            // often than that: each signal names only a room that waits, and Mallory's room's wait must still end on time.
            var i = 0;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (h.Connectors["b"].Delivered.Count(d => d.Destination.ChannelId == "paced") < 4 && DateTime.UtcNow < deadline)
            {
                await h.Router.IngestAsync(CoreHarness.Message("a", "stuck", $"s{i}", $"stuck {i}", user: "bob"), default);
                i++;
            }

            var paced = h.Connectors["b"].Delivered.Where(d => d.Destination.ChannelId == "paced").Select(d => d.Event.Text).ToList();
            Assert.True(paced.Count == 4, $"{paced.Count} of Mallory's 4 delivered while {i} commits for the stuck room kept coming");
            Assert.Equal(["paced 0", "paced 1", "paced 2", "paced 3"], paced);
        });
    }

    [Fact]
    public async Task A_row_whose_commit_signalled_nothing_is_found_by_the_periodic_look_while_a_waiting_rooms_commits_keep_signalling()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks("quiet", "stuck"));
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].Behaviour = r => r.Destination.ChannelId == "stuck" ? new DeliveryResult.RetryLater("down", TimeSpan.FromMinutes(5)) : null;

        // The same store through a router whose signals reach no worker: a commit retried after its reply was lost finds
        // the event stored and signals no one.
        var silent = new BridgeRouter(h.Store, h.Topology, new AllowAllPolicy(), new DeliverySignals(), h.Registry, new AuditOptions(), NullLogger<BridgeRouter>.Instance);
        var worker = Worker(h, h.Store, new LimitsOptions { SenderPerSecond = 0, LinkPerSecond = 0 });
        await WhileRunningAsync(worker, async () =>
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "stuck", "s0", "stuck 0", user: "bob"), default);
            await WaitUntil(() => !h.Connectors["b"].Attempts.IsEmpty, "the stuck room's first attempt");
            await silent.IngestAsync(CoreHarness.Message("a", "quiet", "q0", "quiet 0", user: "quinn"), default);

            // The stuck room waits five minutes and its commits keep waking the worker; each is let go by, and the
            // quiet row must still be found within the periodic look (5 s), not when the stuck room's wait ends.
            var i = 1;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (h.Connectors["b"].Delivered.IsEmpty && DateTime.UtcNow < deadline)
            {
                await h.Router.IngestAsync(CoreHarness.Message("a", "stuck", $"s{i}", $"stuck {i}", user: "bob"), default);
                i++;
            }

            Assert.Equal(["quiet 0"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        });
    }

    [Fact]
    public void A_signal_that_names_no_room_stands_for_any_room_and_taking_forgets_what_was_signalled()
    {
        var signals = new DeliverySignals();
        signals.Signal("b", "flood");
        signals.Signal("b", "flood");
        signals.Signal("b", "quiet");
        var first = signals.Take("b");
        Assert.False(first.AnyRoom);
        Assert.Equal(["flood", "quiet"], first.Rooms.Order(StringComparer.Ordinal));

        signals.Signal("b");
        var second = signals.Take("b");
        Assert.True(second.AnyRoom);
        Assert.Empty(second.Rooms);

        var third = signals.Take("b");
        Assert.False(third.AnyRoom);
        Assert.Empty(third.Rooms);
    }

    /// <summary>Runs <paramref name="worker"/> as the host does while <paramref name="body"/> runs, then stops it.</summary>
    private static async Task WhileRunningAsync(NetworkDeliveryWorker worker, Func<Task> body)
    {
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token, CancellationToken.None);
        try
        {
            await body();
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    private static int Reads(IBridgeStore store) => ((CountingStore)(object)store).PendingReads;

    private static NetworkDeliveryWorker Worker(CoreHarness h, IBridgeStore store, LimitsOptions limits) =>
        new(h.Connectors["b"], store, h.Signals, new DeliveryOptions(), NullLogger.Instance, TimeProvider.System, senders: h.Registry, limits: limits);

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }
}
