using System.Collections.Concurrent;
using Bridge.Core.Connectors;
using Bridge.Core.Model;

namespace Bridge.Matrix.Tests.Support;

/// <summary>
/// An event sink that deduplicates by (network, native id) like the core, and can be told to fail; a batch is taken
/// all or nothing, as the core's router stores it.
/// </summary>
internal sealed class RecordingSink : IEventSink
{
    private readonly ConcurrentDictionary<string, byte> _seen = new(StringComparer.Ordinal);

    public ConcurrentQueue<BridgeEvent> Accepted { get; } = new();

    /// <summary>Events handed to the sink, one by one or in batches.</summary>
    public int Calls => _calls;

    /// <summary>The sizes of the batches taken (a single ingest is not a batch), in order.</summary>
    public ConcurrentQueue<int> Batches { get; } = new();

    /// <summary>Number of upcoming ingest calls (single or batch) that throw (simulating a store failure).</summary>
    public int FailNext;

    private int _calls;

    public Task<IngestOutcome> IngestAsync(BridgeEvent bridgeEvent, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (Interlocked.Decrement(ref FailNext) >= 0)
        {
            throw new IOException("store unavailable");
        }

        if (!_seen.TryAdd(bridgeEvent.NetworkId + "\n" + bridgeEvent.NativeId, 0))
        {
            return Task.FromResult(IngestOutcome.Duplicate);
        }

        Accepted.Enqueue(bridgeEvent);
        return Task.FromResult(IngestOutcome.Accepted);
    }

    public Task<IReadOnlyList<IngestOutcome>> IngestBatchAsync(IReadOnlyList<BridgeEvent> events, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _calls, events.Count);
        if (Interlocked.Decrement(ref FailNext) >= 0)
        {
            throw new IOException("store unavailable");
        }

        Batches.Enqueue(events.Count);
        var outcomes = new IngestOutcome[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            if (_seen.TryAdd(events[i].NetworkId + "\n" + events[i].NativeId, 0))
            {
                Accepted.Enqueue(events[i]);
                outcomes[i] = IngestOutcome.Accepted;
            }
            else
            {
                outcomes[i] = IngestOutcome.Duplicate;
            }
        }

        return Task.FromResult<IReadOnlyList<IngestOutcome>>(outcomes);
    }
}
