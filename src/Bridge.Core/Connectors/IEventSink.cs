using Bridge.Core.Model;

namespace Bridge.Core.Connectors;

/// <summary>
/// Where connectors report what happened. <see cref="IngestAsync"/> returns only once the event and its
/// outbox rows are durable, so a connector may acknowledge the source after it returns (and must not before).
/// </summary>
public interface IEventSink
{
    Task<IngestOutcome> IngestAsync(BridgeEvent bridgeEvent, CancellationToken cancellationToken);
}

public enum IngestOutcome
{
    /// <summary>Persisted and queued toward the other endpoints.</summary>
    Accepted,

    /// <summary>Already seen (same network and native id): nothing done.</summary>
    Duplicate,

    /// <summary>The event is the bridge's own delivery coming back: nothing done.</summary>
    Echo,

    /// <summary>The channel is in no link: nothing done.</summary>
    NotLinked,
}
