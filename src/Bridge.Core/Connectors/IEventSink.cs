using Bridge.Core.Model;

namespace Bridge.Core.Connectors;

/// <summary>
/// Where connectors report what happened. <see cref="IngestAsync"/> returns only once the event and its
/// outbox rows are durable, so a connector may acknowledge the source after it returns (and must not before).
/// </summary>
public interface IEventSink
{
    Task<IngestOutcome> IngestAsync(BridgeEvent bridgeEvent, CancellationToken cancellationToken);

    /// <summary>
    /// Several events of one source batch, in order, each as <see cref="IngestAsync"/> would take it; returns once all of
    /// them are durable. The core's router stores the whole batch in one transaction (all or nothing); this default takes
    /// them one at a time, which is safe too: a source that retries after a failure finds the stored ones duplicates.
    /// </summary>
    async Task<IReadOnlyList<IngestOutcome>> IngestBatchAsync(IReadOnlyList<BridgeEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var outcomes = new IngestOutcome[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            outcomes[i] = await IngestAsync(events[i], cancellationToken);
        }

        return outcomes;
    }
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
