using Bridge.Core.Delivery;
using Bridge.Core.Delivery.Fairness;
using Bridge.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Core;

/// <summary>A flooded room or sender delays the others by little: rooms take turns, senders and links are rate-limited.</summary>
public sealed class FairDeliveryTests
{
    private static readonly LimitsOptions NoRates = new() { SenderPerSecond = 0, LinkPerSecond = 0, FairTurn = 16 };

    [Fact]
    public async Task A_quiet_room_behind_a_flooded_one_waits_for_one_turn_not_the_whole_backlog()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks("flood", "quiet"));
        await h.Store.MigrateAsync(default);
        for (var i = 0; i < 600; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "flood", $"f{i}", $"flood {i}", user: "mallory"), default);
        }

        for (var i = 0; i < 5; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "quiet", $"q{i}", $"quiet {i}", user: "bob"), default);
        }

        var worker = Worker(h, NoRates);
        while (await worker.RunOnceAsync(default))
        {
        }

        var order = h.Connectors["b"].Delivered.Select(d => d.Event.Text).ToList();
        var lastQuiet = order.IndexOf("quiet 4");
        var floodBefore = order.Take(lastQuiet).Count(t => t.StartsWith("flood ", StringComparison.Ordinal));
        Assert.InRange(floodBefore, 0, 2 * NoRates.FairTurn);
        // Everything arrives, each room in its own order.
        Assert.Equal(Enumerable.Range(0, 600).Select(i => $"flood {i}"), order.Where(t => t.StartsWith("flood ", StringComparison.Ordinal)));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"quiet {i}"), order.Where(t => t.StartsWith("quiet ", StringComparison.Ordinal)));
    }

    /// <summary>
    /// A batch that holds every waiting row is taken whole in one pass (a room's 100 flooded rows): a room whose row is
    /// committed while that pass runs used to wait for all of it, seconds against a slow server. Now the pass gives way
    /// to it (after <see cref="DeliveryOptions.YieldToNewRoomsAfter"/>, zero here) and goes on after it, in order.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_room_whose_row_is_committed_during_a_long_pass_goes_before_the_rest_of_that_pass(bool yields)
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks("flood", "quiet"));
        await h.Store.MigrateAsync(default);
        for (var i = 0; i < 100; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "flood", $"f{i}", $"flood {i}", user: "mallory"), default);
        }

        var b = h.Connectors["b"];
        b.Behaviour = request =>
        {
            if (request.Event.Text == "flood 4")
            {
                // Bob speaks while the worker is in the middle of the flood's pass.
                h.Router.IngestAsync(CoreHarness.Message("a", "quiet", "q0", "quiet 0", user: "bob"), default).GetAwaiter().GetResult();
            }

            return null;
        };
        var options = new DeliveryOptions { YieldToNewRoomsAfter = yields ? TimeSpan.Zero : TimeSpan.FromDays(1) };
        var worker = new NetworkDeliveryWorker(b, h.Store, h.Signals, options, NullLogger.Instance, TimeProvider.System, senders: h.Registry, limits: NoRates);
        var passes = 1;
        while (await worker.RunOnceAsync(default))
        {
            passes++;
        }

        // One signal, one yield: a signal left standing would cut every later pass short after one row (about 95).
        Assert.InRange(passes, 1, 6);

        var order = b.Delivered.Select(d => d.Event.Text).ToList();
        var floodBefore = order.TakeWhile(t => t != "quiet 0").Count();
        if (yields)
        {
            Assert.Equal(5, floodBefore);
        }
        else
        {
            Assert.Equal(100, floodBefore); // what the pass did before: the whole batch first
        }

        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"flood {i}"), order.Where(t => t.StartsWith("flood ", StringComparison.Ordinal)));
        Assert.Equal(101, order.Count);
        Assert.Equal(0, await h.Store.CountPendingAsync("b", default));
    }

    /// <summary>
    /// Giving way does not push back a room the pass had not reached: Bob's row waits in the pass behind Mallory's turn
    /// when Carol's room is signalled; the next pass takes both Bob's and Carol's rows before Mallory's go on.
    /// </summary>
    [Fact]
    public async Task Giving_way_to_a_new_room_does_not_push_back_a_room_the_pass_had_not_reached()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks("flood", "quiet", "other"));
        await h.Store.MigrateAsync(default);
        for (var i = 0; i < 100; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "flood", $"f{i}", $"flood {i}", user: "mallory"), default);
        }

        await h.Router.IngestAsync(CoreHarness.Message("a", "quiet", "q0", "quiet 0", user: "bob"), default);
        var b = h.Connectors["b"];
        b.Behaviour = request =>
        {
            if (request.Event.Text == "flood 2")
            {
                h.Router.IngestAsync(CoreHarness.Message("a", "other", "o0", "other 0", user: "carol"), default).GetAwaiter().GetResult();
            }

            return null;
        };
        var worker = new NetworkDeliveryWorker(b, h.Store, h.Signals, new DeliveryOptions { YieldToNewRoomsAfter = TimeSpan.Zero },
            NullLogger.Instance, TimeProvider.System, senders: h.Registry, limits: NoRates);
        while (await worker.RunOnceAsync(default))
        {
        }

        var order = b.Delivered.Select(d => d.Event.Text).ToList();
        Assert.Equal(["flood 0", "flood 1", "flood 2"], order.Take(3));
        Assert.Equal(["other 0", "quiet 0"], order.Skip(3).Take(2).Order());
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"flood {i}"), order.Where(t => t.StartsWith("flood ", StringComparison.Ordinal)));
        Assert.Equal(102, order.Count);
    }

    [Fact]
    public async Task A_flooding_sender_is_held_at_their_rate_while_another_room_keeps_flowing_and_nothing_is_lost()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks("flood", "quiet"));
        await h.Store.MigrateAsync(default);
        for (var i = 0; i < 30; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "flood", $"f{i}", $"flood {i}", user: "mallory"), default);
        }

        for (var i = 0; i < 3; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "quiet", $"q{i}", $"quiet {i}", user: "bob"), default);
        }

        var worker = Worker(h, new LimitsOptions { SenderPerSecond = 20, SenderBurst = 10, LinkPerSecond = 0, FairTurn = 16 });
        while (await worker.RunOnceAsync(default))
        {
        }

        // The burst went, then the flooder waits; Bob's messages were not held behind Mallory's rate.
        var first = h.Connectors["b"].Delivered.Select(d => d.Event.Text).ToList();
        // (a slow machine may refill a token or two while the loop runs)
        var burst = first.Count(t => t.StartsWith("flood ", StringComparison.Ordinal));
        Assert.InRange(burst, 10, 14);
        Assert.Equal(3, first.Count(t => t.StartsWith("quiet ", StringComparison.Ordinal)));
        Assert.Equal(30 - burst, await h.Store.CountPendingAsync("b", default));

        // Held, not dropped and not an attempt: the rest follows at the sender's rate, in order.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (await h.Store.CountPendingAsync("b", default) > 0 && DateTime.UtcNow < deadline)
        {
            await worker.RunOnceAsync(default);
            await Task.Delay(20);
        }

        var all = h.Connectors["b"].Delivered.Select(d => d.Event.Text).Where(t => t.StartsWith("flood ", StringComparison.Ordinal));
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"flood {i}"), all);
        Assert.Empty(await h.Store.GetDeadLettersAsync(10, default));
    }

    [Fact]
    public async Task A_link_over_its_rate_waits_while_another_link_toward_the_same_network_goes_on()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks("busy", "other"));
        await h.Store.MigrateAsync(default);
        for (var i = 0; i < 20; i++)
        {
            // Many senders: no sender limit is reached, only the link's.
            await h.Router.IngestAsync(CoreHarness.Message("a", "busy", $"b{i}", $"busy {i}", user: $"user{i}"), default);
        }

        await h.Router.IngestAsync(CoreHarness.Message("a", "other", "o0", "other 0", user: "carol"), default);
        var worker = Worker(h, new LimitsOptions { SenderPerSecond = 0, LinkPerSecond = 1, LinkBurst = 5, FairTurn = 16 });
        while (await worker.RunOnceAsync(default))
        {
        }

        var delivered = h.Connectors["b"].Delivered.Select(d => d.Event.Text).ToList();
        Assert.InRange(delivered.Count(t => t.StartsWith("busy ", StringComparison.Ordinal)), 5, 6);
        Assert.Contains("other 0", delivered);
    }

    [Fact]
    public void Rounds_take_a_turn_per_room_from_a_full_batch_and_everything_from_a_complete_one_in_room_order()
    {
        var batch = Enumerable.Range(0, 10).Select(i => Row(i, "flood")).Concat([Row(10, "quiet"), Row(11, "quiet")]).ToList();

        var rounds = new FairRounds(turn: 3);
        var partial = rounds.Take(batch);
        Assert.Equal([0, 1, 2, 10, 11], partial.Select(r => (int)r.Id));
        Assert.Equal(["flood", "quiet"], rounds.Served.Order());

        var all = new FairRounds(turn: 3).Take(batch, complete: true);
        Assert.Equal([0, 1, 2, 10, 11, 3, 4, 5, 6, 7, 8, 9], all.Select(r => (int)r.Id));
    }

    private static Bridge.Core.Storage.OutboxItem Row(long id, string room) => new()
    {
        Id = id,
        LinkId = "link-" + room,
        Destination = new Bridge.Core.Model.ChannelRef("b", room),
        Event = CoreHarness.Message("a", room, "n" + id, "t" + id),
    };

    private static NetworkDeliveryWorker Worker(CoreHarness h, LimitsOptions limits) =>
        new(h.Connectors["b"], h.Store, h.Signals, new DeliveryOptions(), NullLogger.Instance, TimeProvider.System, senders: h.Registry, limits: limits);
}
