using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Delivery.Fairness;
using Bridge.Core.Delivery.Waits;
using Bridge.Core.Telemetry;
using Bridge.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Core;

/// <summary>
/// What a run leaves in the stage histogram (<c>bridge.stage.duration</c>) and in the network's fault state: each row
/// counted once per stage, the run's send shared out, and a row taken out of order never standing for a healthy network.
/// </summary>
public sealed class DeliveryRunMetricsTests
{
    private static readonly LimitsOptions NoRates = new() { SenderPerSecond = 0, LinkPerSecond = 0, FairTurn = 16 };

    [Fact]
    public async Task Each_row_of_a_run_records_its_queued_and_prepare_stages_and_its_share_of_the_runs_send()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].MaxRun = 8;
        for (var i = 0; i < 4; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        // The network takes 10 ms per message of the run: 40 ms for the run of four.
        var clock = new SteppedClock();
        h.Connectors["b"].Behaviour = _ =>
        {
            clock.Advance(TimeSpan.FromMilliseconds(10));
            return null;
        };
        using var stages = new StageRecorder();
        var worker = new NetworkDeliveryWorker(h.Connectors["b"], h.Store, h.Signals, new DeliveryOptions(), NullLogger.Instance, clock,
            metrics: stages.Metrics, senders: h.Registry, limits: NoRates);

        await worker.RunOnceAsync(default);

        Assert.Equal([4], h.Connectors["b"].Runs.Select(r => r.Count));
        Assert.Equal(4, stages.Of(BridgeTracing.Stages.Queued).Count);
        Assert.Equal(4, stages.Of(BridgeTracing.Stages.Prepare).Count);
        Assert.Equal(4, stages.Of(BridgeTracing.Stages.Record).Count);

        // Counted per message, summed to the time the run took on the network (not four times it).
        var send = stages.Of(BridgeTracing.Stages.Send);
        Assert.Equal(4, send.Count);
        Assert.All(send, ms => Assert.Equal(10, ms, precision: 3));
        Assert.Equal(40, send.Sum(), precision: 3);
    }

    [Fact]
    public async Task A_run_that_fails_as_a_whole_counts_each_rows_stages_once()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].MaxRun = 8;
        // Every run fails: each time its first row goes on its own and the rest are handed over again.
        h.Connectors["b"].RunFailure = new TimeoutException("the run took too long");
        for (var i = 0; i < 3; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        using var stages = new StageRecorder();
        var worker = new NetworkDeliveryWorker(h.Connectors["b"], h.Store, h.Signals, new DeliveryOptions(), NullLogger.Instance, TimeProvider.System,
            metrics: stages.Metrics, senders: h.Registry, limits: NoRates);

        while (await worker.RunOnceAsync(default))
        {
        }

        Assert.Equal(["text 0", "text 1", "text 2"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        Assert.Equal(3, stages.Of(BridgeTracing.Stages.Queued).Count);
        Assert.Equal(3, stages.Of(BridgeTracing.Stages.Prepare).Count);
        Assert.Equal(3, stages.Of(BridgeTracing.Stages.Send).Count);
    }

    [Fact]
    public async Task A_row_taken_after_an_earlier_row_of_its_run_was_refused_leaves_the_networks_fault_in_place()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].MaxRun = 8;
        h.Connectors["b"].Behaviour = r => r.Event.Text == "text 1"
            ? new DeliveryResult.RetryLater("503 Service Unavailable", TimeSpan.FromMinutes(1), Fault: NetworkFault.ServerError)
            : null;
        for (var i = 0; i < 3; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        var waits = new NetworkWaits();
        var worker = new NetworkDeliveryWorker(h.Connectors["b"], h.Store, h.Signals, new DeliveryOptions(), NullLogger.Instance, TimeProvider.System,
            senders: h.Registry, limits: NoRates, waits: waits);

        await worker.RunOnceAsync(default);

        // text 2 is in the room out of order; text 1 still waits on the server error, and /healthz keeps saying so.
        Assert.Equal(["text 0", "text 2"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        var wait = waits.Current("b");
        Assert.NotNull(wait);
        Assert.Equal(NetworkFault.ServerError, wait.Fault);
    }

    [Fact]
    public async Task A_row_taken_out_of_order_does_not_reset_the_rooms_backoff_for_the_row_still_refused()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].MaxRun = 8;
        h.Connectors["b"].Behaviour = r => r.Event.Text == "text 1" ? new DeliveryResult.RetryLater("503 Service Unavailable", Fault: NetworkFault.ServerError) : null;
        for (var i = 0; i < 3; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        var time = new WallClock(DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1));
        var worker = new NetworkDeliveryWorker(h.Connectors["b"], h.Store, h.Signals, new DeliveryOptions(), NullLogger.Instance, time,
            senders: h.Registry, limits: NoRates);

        // First pass: text 1 refused (server error, first of its streak), text 2 taken after it.
        await worker.RunOnceAsync(default);
        Assert.Equal(["text 0", "text 2"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        time.Advance(TimeSpan.FromSeconds(5));

        // Second pass: text 1 refused again, the second of its streak: the wait doubles (1 to 2 s, not 0.5 to 1 s again).
        await worker.RunOnceAsync(default);
        var refused = Assert.Single(await h.Store.GetPendingAsync("b", [], 10, default));
        Assert.InRange(refused.NotBefore - time.GetUtcNow(), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
    }

    /// <summary>A wall clock moved by hand (the rows' due times are read from it); timestamps stay real.</summary>
    private sealed class WallClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    /// <summary>The system's wall clock, with a monotonic clock (the one stage durations are read from) moved by hand.</summary>
    private sealed class SteppedClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    /// <summary>The stage durations one <see cref="BridgeMetrics"/> records, by stage (its own meter: parallel tests do not mix in).</summary>
    private sealed class StageRecorder : IDisposable
    {
        private readonly OwnMeters _meters = new();
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Stage, double Ms)> _recorded = new();

        public StageRecorder()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, _meters) && instrument.Name == "bridge.stage.duration")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "stage")
                    {
                        _recorded.Enqueue(((string)tag.Value!, value));
                    }
                }
            });
            _listener.Start();
            Metrics = new BridgeMetrics(_meters);
        }

        public BridgeMetrics Metrics { get; }

        public List<double> Of(string stage) => [.. _recorded.Where(r => r.Stage == stage).Select(r => r.Ms)];

        public void Dispose()
        {
            _listener.Dispose();
            Metrics.Dispose();
            _meters.Dispose();
        }
    }

    private sealed class OwnMeters : IMeterFactory
    {
        private readonly List<Meter> _made = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _made.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in _made)
            {
                meter.Dispose();
            }
        }
    }
}
