using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Bridge.Core.Delivery;

/// <summary>Wakes the delivery worker of a network when new outbox rows exist; coalesces bursts into one wake-up.</summary>
public sealed class DeliverySignals
{
    private readonly ConcurrentDictionary<string, Channel<bool>> _signals = new(StringComparer.Ordinal);

    public void Signal(string networkId) => For(networkId).Writer.TryWrite(true);

    /// <summary>Waits until signalled or until <paramref name="timeout"/> passes.</summary>
    public async Task WaitAsync(string networkId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var reader = For(networkId).Reader;
        if (reader.TryRead(out _))
        {
            return;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Timed out: the caller re-checks for due rows.
        }
    }

    private Channel<bool> For(string networkId) =>
        _signals.GetOrAdd(networkId, _ => Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite }));
}
