using System.Diagnostics;

namespace Bridge.Core.Telemetry;

/// <summary>
/// The bridge's own stages as spans: <c>bridge.ingest</c> (a connector's event routed by the policy and committed with
/// its outbox rows) and <c>bridge.deliver</c> (one outbox row: waiting in the queue, prepared, sent by the connector,
/// recorded). Exported when the configuration names an OTLP endpoint (<c>telemetry:otlpEndpoint</c>); the same
/// durations are on <c>/metrics</c> as <c>bridge.stage.duration</c> whether or not anyone listens to the spans.
/// </summary>
public static class BridgeTracing
{
    public const string SourceName = "Bridge";

    /// <summary>The process's one source, as .NET's own libraries keep theirs: it holds no state of ours, only listeners.</summary>
    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>The stage names, as spans and as the <c>stage</c> tag of <c>bridge.stage.duration</c>.</summary>
    public static class Stages
    {
        /// <summary>Policy decisions for every destination of a connector's event.</summary>
        public const string Route = "route";

        /// <summary>The store transaction that makes the event and its outbox rows durable (the source may be acknowledged after it).</summary>
        public const string Commit = "commit";

        /// <summary>From the outbox row's commit until the destination's worker took it.</summary>
        public const string Queued = "queued";

        /// <summary>The request built: ids of targets looked up, translation, degradation for the destination's capabilities.</summary>
        public const string Prepare = "prepare";

        /// <summary>The destination connector's delivery, network round trips included.</summary>
        public const string Send = "send";

        /// <summary>The store transaction that marks the row delivered with its id on the destination.</summary>
        public const string Record = "record";

        /// <summary>
        /// The destination worker's read of pending outbox rows: one sample per read, not per message, so its count says
        /// how often the worker asked the store and its sum how long the store's connection was busy answering.
        /// </summary>
        public const string Fetch = "fetch";
    }
}
