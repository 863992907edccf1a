using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Bridge.Core.Delivery;

/// <summary>
/// Wakes the delivery worker of a network when new outbox rows exist; coalesces bursts into one wake-up. A signal may
/// name the room its rows are for, so a worker whose rooms all wait (a flooded room over its rate) is not sent back to
/// the store by every commit of the room that waits anyway.
/// </summary>
public sealed class DeliverySignals
{
    private readonly ConcurrentDictionary<string, NetworkSignal> _signals = new(StringComparer.Ordinal);

    /// <summary>Something for <paramref name="networkId"/> may be due, in no particular room (a link resumed, rows put back, a connector ready).</summary>
    public void Signal(string networkId) => For(networkId).Raise(null);

    /// <summary>New rows for <paramref name="channelId"/> on <paramref name="networkId"/> are committed.</summary>
    public void Signal(string networkId, string channelId) => For(networkId).Raise(channelId);

    /// <summary>Waits until signalled (true) or until <paramref name="timeout"/> passes (false).</summary>
    public async Task<bool> WaitAsync(string networkId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var reader = For(networkId).Wake.Reader;
        if (reader.TryRead(out _))
        {
            return true;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await reader.ReadAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Timed out: the caller re-checks for due rows.
            return false;
        }
    }

    /// <summary>A mark of the signals so far, for <see cref="NamesRoomSince"/>: those raised after it are newer.</summary>
    internal long Mark(string networkId) => For(networkId).Mark();

    /// <summary>
    /// Whether a signal raised after <paramref name="mark"/> named a room of <paramref name="networkId"/> for which
    /// <paramref name="isNew"/> holds; the signals stay for the next <see cref="Take"/>.
    /// </summary>
    internal bool NamesRoomSince(string networkId, long mark, Func<string, bool> isNew) => For(networkId).NamesRoomSince(mark, isNew);

    /// <summary>What was signalled for <paramref name="networkId"/> since the last call, and forgets it.</summary>
    internal Signalled Take(string networkId) => For(networkId).Take();

    private NetworkSignal For(string networkId) => _signals.GetOrAdd(networkId, _ => new NetworkSignal());

    /// <summary>The rooms named since the last <see cref="Take"/>, or <see cref="AnyRoom"/> when a signal named none.</summary>
    internal readonly record struct Signalled(bool AnyRoom, IReadOnlyCollection<string> Rooms);

    private sealed class NetworkSignal
    {
        private readonly Lock _gate = new();

        // Each room named since the last Take, with the number of the last signal that named it.
        private Dictionary<string, long> _rooms = new(StringComparer.Ordinal);
        private bool _anyRoom;
        private long _raised;

        public Channel<bool> Wake { get; } = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

        public void Raise(string? room)
        {
            // Recorded before the wake-up is written: a worker that wakes always finds what woke it.
            lock (_gate)
            {
                _raised++;
                if (room is null)
                {
                    _anyRoom = true;
                }
                else
                {
                    _rooms[room] = _raised;
                }
            }

            Wake.Writer.TryWrite(true);
        }

        public long Mark()
        {
            lock (_gate)
            {
                return _raised;
            }
        }

        public bool NamesRoomSince(long mark, Func<string, bool> isNew)
        {
            lock (_gate)
            {
                foreach (var (room, raised) in _rooms)
                {
                    if (raised > mark && isNew(room))
                    {
                        return true;
                    }
                }

                return false;
            }
        }

        public Signalled Take()
        {
            lock (_gate)
            {
                var taken = new Signalled(_anyRoom, _rooms.Count == 0 ? [] : _rooms.Keys);
                if (_rooms.Count > 0)
                {
                    _rooms = new Dictionary<string, long>(StringComparer.Ordinal);
                }

                _anyRoom = false;
                return taken;
            }
        }
    }
}
