using System.Collections.Concurrent;
using Bridge.Core.Connectors;
using Bridge.Core.Model;

namespace Bridge.Matrix.Tests.Support;

/// <summary>An event sink that deduplicates by (network, native id) like the core, and can be told to fail.</summary>
internal sealed class RecordingSink : IEventSink
{
    private readonly ConcurrentDictionary<string, byte> _seen = new(StringComparer.Ordinal);

    public ConcurrentQueue<BridgeEvent> Accepted { get; } = new();

    public int Calls => _calls;

    /// <summary>Number of upcoming ingest calls that throw (simulating a store failure).</summary>
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
}
