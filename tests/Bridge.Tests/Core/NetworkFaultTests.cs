using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Delivery.Fairness;
using Bridge.Core.Delivery.Waits;
using Bridge.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Core;

/// <summary>
/// Server errors and rate limits are the network's fault, never the message's: they never dead-letter a row, a rate
/// limit holds the whole network until the server's time, and the wait is named for /healthz until a delivery succeeds.
/// </summary>
public sealed class NetworkFaultTests
{
    private static readonly LimitsOptions NoRates = new() { SenderPerSecond = 0, LinkPerSecond = 0, FairTurn = 16 };

    [Fact]
    public async Task Server_errors_for_longer_than_max_attempts_dead_letter_nothing_and_everything_arrives_in_order_after()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        for (var i = 0; i < 3; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        var time = new ManualTime();
        var waits = new NetworkWaits(time);
        var broken = true;
        h.Connectors["b"].Behaviour = _ => broken ? new DeliveryResult.RetryLater("500 M_UNKNOWN: Internal server error", Fault: NetworkFault.ServerError) : null;
        var worker = Worker(h, time, waits, maxAttempts: 2);

        for (var round = 0; round < 10; round++)
        {
            await worker.RunOnceAsync(default);
            time.Advance(TimeSpan.FromMinutes(10));
        }

        Assert.Empty(await h.Store.GetDeadLettersAsync(10, default));
        Assert.Equal(3, await h.Store.CountPendingAsync("b", default));
        var wait = waits.Current("b");
        Assert.NotNull(wait);
        Assert.Equal(NetworkFault.ServerError, wait.Fault);
        Assert.Contains("server error since", wait.Describe(), StringComparison.Ordinal);

        broken = false;
        while (await worker.RunOnceAsync(default))
        {
        }

        Assert.Equal(["text 0", "text 1", "text 2"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        Assert.Null(waits.Current("b"));
    }

    [Fact]
    public async Task Server_errors_back_off_longer_each_time_instead_of_hammering_at_the_first_delay()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m0", "text 0"), default);
        var time = new ManualTime();
        var waits = new NetworkWaits(time);
        // Not counted as attempts, so only the fault streak can lengthen the wait (as for a homeserver that does not answer).
        h.Connectors["b"].Behaviour = _ => new DeliveryResult.RetryLater("503", CountsAsAttempt: false, Fault: NetworkFault.ServerError);
        var worker = Worker(h, time, waits, maxAttempts: 100);

        // One simulated minute, looked at every 100 ms: the waits double (1 s, 2 s, 4 s, ...), so a handful of tries.
        for (var step = 0; step < 600; step++)
        {
            await worker.RunOnceAsync(default);
            time.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.InRange(h.Connectors["b"].Attempts.Count, 3, 10);
    }

    [Fact]
    public async Task A_rate_limit_holds_every_room_of_the_network_until_the_servers_time_and_counts_no_attempt()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks("one", "two"));
        await h.Store.MigrateAsync(default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "one", "m1", "first"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "two", "m2", "second"), default);
        var time = new ManualTime();
        var waits = new NetworkWaits(time);
        var limitedUntil = time.GetUtcNow() + TimeSpan.FromSeconds(30);
        h.Connectors["b"].Behaviour = _ => time.GetUtcNow() < limitedUntil
            ? new DeliveryResult.RetryLater("rate limited", limitedUntil - time.GetUtcNow(), CountsAsAttempt: false, Fault: NetworkFault.RateLimited)
            : null;
        var worker = Worker(h, time, waits, maxAttempts: 1);

        for (var step = 0; step < 29; step++)
        {
            await worker.RunOnceAsync(default);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        // One ask, refused; nobody asked again before the time the server named, for either room.
        Assert.Single(h.Connectors["b"].Attempts);
        var wait = waits.Current("b");
        Assert.NotNull(wait);
        Assert.Equal(limitedUntil, wait.NextTry);
        Assert.StartsWith("rate limited until ", wait.Describe(), StringComparison.Ordinal);

        time.Advance(TimeSpan.FromSeconds(2));
        while (await worker.RunOnceAsync(default))
        {
        }

        Assert.Equal(["first", "second"], h.Connectors["b"].Delivered.Select(d => d.Event.Text).Order(StringComparer.Ordinal));
        Assert.Empty(await h.Store.GetDeadLettersAsync(10, default));
        Assert.Null(waits.Current("b"));
    }

    private static NetworkDeliveryWorker Worker(CoreHarness h, TimeProvider time, NetworkWaits waits, int maxAttempts) =>
        new(h.Connectors["b"], h.Store, h.Signals, new DeliveryOptions { MaxAttempts = maxAttempts }, NullLogger.Instance, time,
            senders: h.Registry, limits: NoRates, waits: waits);

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
