using System.Collections.Concurrent;

namespace Bridge.Mattermost.Inbound;

/// <summary>
/// One queue per channel: what a channel received is handled in arrival order, and a channel busy with its catch-up
/// (or stuck on a failing store) holds only its own events, never another channel's. The WebSocket reader routes each
/// event to its channel's lane and goes on.
/// </summary>
/// <remarks>
/// A lane runs a task only while it has items: the first item posted to an empty lane starts one, which handles items
/// one after another until the queue is empty and then ends. An idle lane is a small queue and nothing else; with a
/// reader parked on every lane (a channel, its segment and an awaiting state machine), a bridge with 1,000 linked
/// channels kept about 1.5 KB per channel for channels that are quiet nearly all the time.
/// </remarks>
internal sealed class ChannelLanes<T> : IAsyncDisposable
{
    private readonly Func<string, IReadOnlyList<T>, CancellationToken, Task> _handle;
    private readonly Func<T, bool> _batchable;
    private readonly int _maxBatch;
    private readonly CancellationToken _stopping;
    private readonly Action<string, Exception> _fault;
    private readonly ConcurrentDictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private int _closed;

    /// <param name="handle">Handles one item of a lane (the lane's key, the item); it is expected to catch its own failures.</param>
    /// <param name="fault">Told of an exception the handler let through; the lane goes on with its next item.</param>
    public ChannelLanes(Func<string, T, CancellationToken, Task> handle, Action<string, Exception> fault, CancellationToken stopping)
        : this((key, items, ct) => handle(key, items[0], ct), _ => false, 1, fault, stopping)
    {
    }

    /// <summary>
    /// Lanes that hand over runs: an item <paramref name="batchable"/> accepts goes together with the batchable items
    /// already queued right behind it, at most <paramref name="maxBatch"/>, in their order (the store commits such a run
    /// once, where one at a time it committed each). Any other item is handed over on its own.
    /// </summary>
    /// <param name="handle">Handles one item, or a run of batchable ones, of a lane; it is expected to catch its own failures.</param>
    public ChannelLanes(Func<string, IReadOnlyList<T>, CancellationToken, Task> handle, Func<T, bool> batchable, int maxBatch, Action<string, Exception> fault, CancellationToken stopping)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _handle = handle;
        _batchable = batchable;
        _maxBatch = maxBatch;
        _fault = fault;
        _stopping = stopping;
    }

    /// <summary>Puts <paramref name="item"/> at the end of <paramref name="key"/>'s lane, starting the lane's task if it is idle.</summary>
    public bool Post(string key, T item)
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            return false;
        }

        // A lane starts nothing when made, so GetOrAdd running its factory twice under a race costs one small object.
        return _lanes.GetOrAdd(key, static (k, owner) => new Lane(k, owner), this).Post(item);
    }

    /// <summary>Takes no more items and waits until every lane has handled what it already had.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        await Task.WhenAll(_lanes.Values.Select(l => l.Complete())).ConfigureAwait(false);
    }

    /// <summary>Asked under a lane's lock, outside its handler's try: an item it cannot judge goes on its own.</summary>
    private bool Batchable(T item)
    {
        try
        {
            return _batchable(item);
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>Items queued in <paramref name="key"/>'s lane and not yet taken (for tests that need a run to have formed).</summary>
    internal int Queued(string key)
    {
        if (!_lanes.TryGetValue(key, out var lane))
        {
            return 0;
        }

        return lane.Queued;
    }

    private sealed class Lane(string key, ChannelLanes<T> owner)
    {
        // Guarded by itself. _running: a task is handling this lane's items (at most one, which keeps the order).
        private readonly Queue<T> _items = new();
        private bool _running;
        private bool _completed;
        private Task _runner = Task.CompletedTask;

        public int Queued
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        /// <summary>Queues the item; false once the lane is completed.</summary>
        public bool Post(T item)
        {
            lock (_items)
            {
                if (_completed)
                {
                    return false;
                }

                _items.Enqueue(item);
                if (!_running)
                {
                    _running = true;
                    _runner = Task.Run(RunAsync, CancellationToken.None);
                }

                return true;
            }
        }

        /// <summary>Takes no more items; the task that ends once the items already queued are handled.</summary>
        public Task Complete()
        {
            lock (_items)
            {
                _completed = true;
                return _runner;
            }
        }

        private async Task RunAsync()
        {
            while (TryTake(out var items))
            {
                try
                {
                    await owner._handle(key, items, owner._stopping).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    // A lane that died here would stall its channel for good, silently. Whatever a handler throws while
                    // the connector stops (a cancelled store call, a disposed client) is not a fault: the next take sees
                    // the stop and drops what the lane still held (nothing was acknowledged for it).
                    if (!owner._stopping.IsCancellationRequested)
                    {
                        owner._fault(key, e);
                    }
                }
            }
        }

        /// <summary>
        /// The next item, with the batchable ones queued right behind it when it is batchable itself; or false (and the
        /// lane marked idle, under the same lock) when there is none or the connector stops.
        /// </summary>
        private bool TryTake(out IReadOnlyList<T> items)
        {
            lock (_items)
            {
                if (!owner._stopping.IsCancellationRequested && _items.TryDequeue(out var first))
                {
                    if (_items.Count == 0 || !owner.Batchable(first))
                    {
                        items = [first];
                        return true;
                    }

                    var run = new List<T> { first };
                    while (run.Count < owner._maxBatch && _items.TryPeek(out var next) && owner.Batchable(next))
                    {
                        run.Add(_items.Dequeue());
                    }

                    items = run;
                    return true;
                }

                _items.Clear();
                // After a burst, an idle lane keeps no large array: the next item of a quiet channel needs a small one.
                if (_items.EnsureCapacity(0) > 16)
                {
                    _items.TrimExcess();
                }

                _running = false;
                items = [];
                return false;
            }
        }
    }
}
