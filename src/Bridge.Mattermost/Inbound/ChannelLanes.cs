using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Bridge.Mattermost.Inbound;

/// <summary>
/// One queue and one reader per channel: what a channel received is handled in arrival order, and a channel busy with
/// its catch-up (or stuck on a failing store) holds only its own events, never another channel's. The WebSocket reader
/// routes each event to its channel's lane and goes on.
/// </summary>
internal sealed class ChannelLanes<T> : IAsyncDisposable
{
    private readonly Func<string, T, CancellationToken, Task> _handle;
    private readonly CancellationToken _stopping;
    private readonly Action<string, Exception> _fault;
    // Lazy: GetOrAdd may run its factory twice under a race, and a lane's reader must start once.
    private readonly ConcurrentDictionary<string, Lazy<Lane>> _lanes = new(StringComparer.Ordinal);
    private int _closed;

    /// <param name="handle">Handles one item of a lane (the lane's key, the item); it is expected to catch its own failures.</param>
    /// <param name="fault">Told of an exception the handler let through; the lane goes on with its next item.</param>
    public ChannelLanes(Func<string, T, CancellationToken, Task> handle, Action<string, Exception> fault, CancellationToken stopping)
    {
        _handle = handle;
        _fault = fault;
        _stopping = stopping;
    }

    /// <summary>Puts <paramref name="item"/> at the end of <paramref name="key"/>'s lane, starting the lane if it is new.</summary>
    public bool Post(string key, T item)
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            return false;
        }

        return _lanes.GetOrAdd(key, k => new Lazy<Lane>(() => new Lane(k, this))).Value.Queue.Writer.TryWrite(item);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        var lanes = _lanes.Values.Select(l => l.Value).ToList();
        foreach (var lane in lanes)
        {
            lane.Queue.Writer.TryComplete();
        }

        await Task.WhenAll(lanes.Select(l => l.Reader)).ConfigureAwait(false);
    }

    private sealed class Lane
    {
        public Lane(string key, ChannelLanes<T> owner)
        {
            Queue = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });
            Reader = Task.Run(() => ReadAsync(key, owner), CancellationToken.None);
        }

        public Channel<T> Queue { get; }

        public Task Reader { get; }

        private async Task ReadAsync(string key, ChannelLanes<T> owner)
        {
            try
            {
                await foreach (var item in Queue.Reader.ReadAllAsync(owner._stopping).ConfigureAwait(false))
                {
                    try
                    {
                        await owner._handle(key, item, owner._stopping).ConfigureAwait(false);
                    }
                    catch (Exception e) when (!owner._stopping.IsCancellationRequested)
                    {
                        // A lane that died here would stall its channel for good, silently.
                        owner._fault(key, e);
                    }
                    catch (Exception) when (owner._stopping.IsCancellationRequested)
                    {
                        return;
                    }
                }
            }
            catch (Exception) when (owner._stopping.IsCancellationRequested)
            {
                // Whatever a handler throws while the connector stops (a cancelled store call, a disposed client) ends the lane quietly.
            }
        }
    }
}
