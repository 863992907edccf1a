using System.Collections.Concurrent;
using Bridge.Mattermost.Inbound;

namespace Bridge.Mattermost.Tests;

/// <summary>
/// <see cref="ChannelLanes{T}"/> on its own: a lane runs a task only while it has items, so these pin what the parked
/// reader it replaced guaranteed: arrival order per lane, one item at a time per lane, a held lane holding no other,
/// a failing item not ending its lane, and closing waiting for what was already queued.
/// </summary>
public sealed class ChannelLanesUnitTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Each_lane_handles_its_items_in_arrival_order_one_at_a_time_also_across_idle_spells()
    {
        var seen = new ConcurrentDictionary<string, ConcurrentQueue<int>>();
        var inFlight = new ConcurrentDictionary<string, int>();
        var overlaps = 0;
        var lanes = new ChannelLanes<int>(async (key, item, _) =>
        {
            if (inFlight.AddOrUpdate(key, 1, (_, n) => n + 1) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            await Task.Yield();
            seen.GetOrAdd(key, _ => new ConcurrentQueue<int>()).Enqueue(item);
            inFlight.AddOrUpdate(key, 0, (_, n) => n - 1);
        }, (_, e) => throw e, CancellationToken.None);

        for (var round = 0; round < 3; round++)
        {
            // A burst on every lane, then a pause long enough for every lane to go idle (its task ends) and start again.
            for (var i = 0; i < 200; i++)
            {
                Assert.True(lanes.Post($"c{i % 4}", (round * 1000) + i));
            }

            await WaitUntilAsync(() => seen.Values.Sum(q => q.Count) == (round + 1) * 200);
        }

        await lanes.DisposeAsync();
        Assert.Equal(0, overlaps);
        foreach (var (key, items) in seen)
        {
            var expected = Enumerable.Range(0, 3).SelectMany(r => Enumerable.Range(0, 200).Where(i => $"c{i % 4}" == key).Select(i => (r * 1000) + i));
            Assert.Equal(expected, items);
        }
    }

    [Fact]
    public async Task A_held_lane_holds_only_itself_and_a_failing_item_does_not_end_its_lane()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handled = new ConcurrentQueue<string>();
        var faults = new ConcurrentQueue<string>();
        var lanes = new ChannelLanes<string>(async (key, item, _) =>
        {
            if (item == "hold")
            {
                await release.Task;
            }

            if (item == "fail")
            {
                throw new InvalidOperationException("on purpose");
            }

            handled.Enqueue($"{key}:{item}");
        }, (key, _) => faults.Enqueue(key), CancellationToken.None);

        lanes.Post("held", "hold");
        lanes.Post("held", "after-hold");
        lanes.Post("other", "fail");
        lanes.Post("other", "after-fail");
        await WaitUntilAsync(() => handled.Contains("other:after-fail"));
        Assert.DoesNotContain("held:after-hold", handled);
        Assert.Equal(["other"], faults);

        release.SetResult();
        await WaitUntilAsync(() => handled.Contains("held:after-hold"));
        Assert.Equal(["other:after-fail", "held:hold", "held:after-hold"], handled);
        await lanes.DisposeAsync();
    }

    [Fact]
    public async Task Closing_waits_for_what_was_queued_and_takes_nothing_after()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handled = new ConcurrentQueue<int>();
        var lanes = new ChannelLanes<int>(async (_, item, _) =>
        {
            if (item == 0)
            {
                await release.Task;
            }

            handled.Enqueue(item);
        }, (_, e) => throw e, CancellationToken.None);
        lanes.Post("a", 0);
        lanes.Post("a", 1);
        lanes.Post("a", 2);

        var closing = lanes.DisposeAsync().AsTask();
        Assert.False(lanes.Post("a", 3));
        Assert.False(closing.IsCompleted);
        release.SetResult();
        await closing.WaitAsync(Wait);
        Assert.Equal([0, 1, 2], handled);
    }

    [Fact]
    public async Task Once_the_connector_stops_a_lane_drops_what_it_still_held()
    {
        using var stopping = new CancellationTokenSource();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handled = new ConcurrentQueue<int>();
        var lanes = new ChannelLanes<int>(async (_, item, ct) =>
        {
            if (item == 0)
            {
                await release.Task.WaitAsync(ct);
            }

            handled.Enqueue(item);
        }, (_, e) => throw e, stopping.Token);
        lanes.Post("a", 0);
        lanes.Post("a", 1);

        await stopping.CancelAsync();
        await lanes.DisposeAsync().AsTask().WaitAsync(Wait);
        Assert.Empty(handled);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }
}
