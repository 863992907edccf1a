using System.Diagnostics.Metrics;

namespace Bridge.Core.Telemetry;

/// <summary>
/// The bridge's own instruments (meter <c>Bridge</c>): what came in, what went out, how long crossing took.
/// Exported by the host (Prometheus on the admin API); cheap enough for the per-message path.
/// </summary>
public sealed class BridgeMetrics : IDisposable
{
    public const string MeterName = "Bridge";

    private readonly Meter _meter;
    private readonly Counter<long> _ingested;
    private readonly Counter<long> _deliveries;
    private readonly Histogram<double> _crossing;
    private readonly Counter<long> _translations;
    private readonly Histogram<double> _translationTime;
    private readonly Histogram<double> _stage;

    // Fine at the low end, where the bridge's own stages are (tenths of a millisecond to a few), coarse above.
    private static readonly double[] StageBuckets = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50, 75, 100, 250, 500, 1000, 2500, 5000, 10000];

    public BridgeMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _ingested = _meter.CreateCounter<long>("bridge.events.ingested", "{event}", "events reported by connectors, by source network and outcome");
        _deliveries = _meter.CreateCounter<long>("bridge.deliveries", "{delivery}", "delivery attempts, by destination network and result");
        _crossing = _meter.CreateHistogram<double>("bridge.delivery.latency", "ms", "time from ingest to delivery on the destination");
        _translations = _meter.CreateCounter<long>("bridge.translations", "{translation}", "translations asked of an engine, by engine and outcome (translated, timeout, failed, rejected)");
        _translationTime = _meter.CreateHistogram<double>("bridge.translation.latency", "ms", "time an engine took to translate, by engine");
        _stage = _meter.CreateHistogram<double>("bridge.stage.duration", "ms",
            "time spent in each stage of an event's way through the bridge (route, commit; queued, prepare, send, record), by stage and network",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StageBuckets });
    }

    public void Ingested(string network, string outcome) =>
        _ingested.Add(1, new KeyValuePair<string, object?>("network", network), new KeyValuePair<string, object?>("outcome", outcome));

    public void Delivery(string network, string result) =>
        _deliveries.Add(1, new KeyValuePair<string, object?>("network", network), new KeyValuePair<string, object?>("result", result));

    public void Crossed(string network, TimeSpan latency) =>
        _crossing.Record(latency.TotalMilliseconds, new KeyValuePair<string, object?>("network", network));

    /// <summary>One stage of one event (<see cref="BridgeTracing.Stages"/>): the source network for route and commit, the destination for the rest.</summary>
    public void Stage(string stage, string network, TimeSpan took) =>
        _stage.Record(took.TotalMilliseconds, new KeyValuePair<string, object?>("stage", stage), new KeyValuePair<string, object?>("network", network));

    public void Translated(string engine, string outcome, TimeSpan took)
    {
        _translations.Add(1, new KeyValuePair<string, object?>("engine", engine), new KeyValuePair<string, object?>("outcome", outcome));
        if (took > TimeSpan.Zero)
        {
            _translationTime.Record(took.TotalMilliseconds, new KeyValuePair<string, object?>("engine", engine));
        }
    }

    /// <summary><c>bridge.leader</c>: 1 while this instance delivers (holds the leader lease, or needs none), 0 while standby.</summary>
    public void ObserveLeader(Func<int> active) =>
        _meter.CreateObservableGauge("bridge.leader", active, "{instance}", "1 while this instance delivers (holds the leader lease or needs none), 0 while it stands by");

    /// <summary>
    /// <c>bridge.translation.engine.up</c>: 1 per engine that answers, 0 while it is out (its last translation failed or
    /// ran past the budget), read when the metrics are collected, so an outage shows without any traffic counter moving.
    /// </summary>
    public void ObserveTranslationEngines(Func<IEnumerable<(string Engine, bool Up)>> engines)
    {
        ArgumentNullException.ThrowIfNull(engines);
        _meter.CreateObservableGauge("bridge.translation.engine.up",
            () => engines().Select(e => new Measurement<int>(e.Up ? 1 : 0, new KeyValuePair<string, object?>("engine", e.Engine))),
            "{engine}", "whether each translation engine answers (1) or is out (0)");
    }

    public void Dispose() => _meter.Dispose();
}
