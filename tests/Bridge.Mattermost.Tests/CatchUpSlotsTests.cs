using Bridge.Mattermost.Inbound;

namespace Bridge.Mattermost.Tests;

/// <summary>
/// Catch-up turns (issue 12): at most a few channels read the server at once, in the order they asked, but a channel
/// with live events waiting behind its catch-up goes before the quiet ones.
/// </summary>
public sealed class CatchUpSlotsTests
{
    [Fact]
    public async Task Waiters_get_turns_in_the_order_they_asked()
    {
        var slots = new CatchUpSlots(1);
        await slots.WaitAsync("a", CancellationToken.None);
        var b = slots.WaitAsync("b", CancellationToken.None);
        var c = slots.WaitAsync("c", CancellationToken.None);
        Assert.False(b.IsCompleted || c.IsCompleted);

        slots.Release();
        await b.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(c.IsCompleted);
        slots.Release();
        await c.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_hurried_channel_goes_before_those_that_asked_earlier()
    {
        var slots = new CatchUpSlots(1);
        await slots.WaitAsync("a", CancellationToken.None);
        var quiet = slots.WaitAsync("quiet", CancellationToken.None);
        var talking = slots.WaitAsync("talking", CancellationToken.None);

        slots.Hurry("talking");
        slots.Release();
        await talking.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(quiet.IsCompleted);
        slots.Release();
        await quiet.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_hurry_before_the_catch_up_asks_counts_only_when_one_is_expected()
    {
        var slots = new CatchUpSlots(1);
        await slots.WaitAsync("a", CancellationToken.None);
        var quiet = slots.WaitAsync("quiet", CancellationToken.None);

        slots.Hurry("idle");                // live traffic with no catch-up on its way: nothing to hurry later
        slots.Expect("talking");
        slots.Hurry("talking");             // its catch-up is posted but has not asked yet
        var talking = slots.WaitAsync("talking", CancellationToken.None);
        var idle = slots.WaitAsync("idle", CancellationToken.None);

        slots.Release();
        await talking.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(quiet.IsCompleted || idle.IsCompleted);
        slots.Release();
        await quiet.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(idle.IsCompleted);
    }

    [Fact]
    public async Task A_cancelled_waiter_gives_up_its_place_and_no_turn_is_lost()
    {
        var slots = new CatchUpSlots(1);
        await slots.WaitAsync("a", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var gone = slots.WaitAsync("gone", cancel.Token);
        var next = slots.WaitAsync("next", CancellationToken.None);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone);
        slots.Release();
        await next.WaitAsync(TimeSpan.FromSeconds(5));
        slots.Release();
        await slots.WaitAsync("again", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)); // the turn came back
    }

    [Fact]
    public async Task A_hurry_covers_a_channels_next_catch_up_too_when_a_second_round_posted_one()
    {
        var slots = new CatchUpSlots(1);
        await slots.WaitAsync("x", CancellationToken.None);
        slots.Expect("a");
        var first = slots.WaitAsync("a", CancellationToken.None);
        slots.Expect("a");                  // a second round's catch-up of the same channel, behind the first in its lane
        var quiet = slots.WaitAsync("quiet", CancellationToken.None);

        Assert.True(slots.Hurry("a"));
        slots.Release();
        await first.WaitAsync(TimeSpan.FromSeconds(5));
        var second = slots.WaitAsync("a", CancellationToken.None); // asks after the quiet one
        slots.Release();
        await second.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(quiet.IsCompleted);
        Assert.False(slots.Hurry("a"));     // nothing of it waits or is on its way any more
        slots.Release();
        await quiet.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Two_catch_ups_posted_before_either_asks_both_go_first_after_one_hurry()
    {
        var slots = new CatchUpSlots(1);
        await slots.WaitAsync("x", CancellationToken.None);
        var quiet = slots.WaitAsync("quiet", CancellationToken.None);
        slots.Expect("a");
        slots.Expect("a");
        Assert.True(slots.Hurry("a"));

        var first = slots.WaitAsync("a", CancellationToken.None);
        slots.Release();
        await first.WaitAsync(TimeSpan.FromSeconds(5));
        var second = slots.WaitAsync("a", CancellationToken.None);
        slots.Release();
        await second.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(quiet.IsCompleted);
        slots.Release();
        await quiet.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
