using System.Globalization;
using Bridge.Core.Storage;

namespace Bridge.Mattermost.Inbound;

/// <summary>
/// Where each heard channel's catch-up stands (an <c>update_at</c>, in ms): in memory at once, in the store a little
/// later. A cursor only moves behind what the core has already committed, and a saved cursor that lags only means the
/// next catch-up reads a few posts again (duplicates, which the core drops by native id; the catch-up already reads
/// <c>catchUpSkew</c> further back). So progress is saved by <see cref="SaveAsync"/>, all channels in one store call,
/// instead of one commit per post; only a starting position (<see cref="StartAtAsync"/>) is written before it is used,
/// because nothing older than it is ever read again.
/// </summary>
internal sealed class ChannelCursors(IConnectorStateStore state, string scope, Func<string, bool> isHeard)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _positions = new(StringComparer.Ordinal);

    /// <summary>
    /// Channels whose position moved since it was last written; each has one in <see cref="_positions"/> (a forget takes
    /// a channel out of both, and waits for a save under way).
    /// </summary>
    private readonly HashSet<string> _unsaved = new(StringComparer.Ordinal);

    /// <summary>
    /// One store write at a time: a channel's removal (<see cref="ForgetAsync"/>) never runs while a save of its old
    /// position is under way, so the position cannot come back after it.
    /// </summary>
    private readonly SemaphoreSlim _writing = new(1, 1);

    public long Get(string channel)
    {
        lock (_gate)
        {
            return _positions.GetValueOrDefault(channel);
        }
    }

    public bool Has(string channel)
    {
        lock (_gate)
        {
            return _positions.ContainsKey(channel);
        }
    }

    /// <summary>Positions as the store had them at start.</summary>
    public void Load(string channel, long position)
    {
        lock (_gate)
        {
            _positions[channel] = position;
        }
    }

    /// <summary>
    /// Moves the channel's position forward (never back); true when it moved. Written by the next <see cref="SaveAsync"/>.
    /// A channel without a position (never started, or forgotten: a lane that looked before an unlink) is not given one
    /// here: every heard channel has one from <see cref="Load"/> or <see cref="StartAtAsync"/>.
    /// </summary>
    public bool Advance(string channel, long position)
    {
        lock (_gate)
        {
            if (!_positions.TryGetValue(channel, out var current) || position <= current)
            {
                return false;
            }

            _positions[channel] = position;
            _unsaved.Add(channel);
            return true;
        }
    }

    /// <summary>
    /// Channels heard from now on, without a position yet: they start at <paramref name="position"/>, written (in one store
    /// call) before this returns. A start not written would be taken again, later, by the next run, which would then
    /// skip what was said in between.
    /// </summary>
    public async Task StartAtAsync(IReadOnlyCollection<string> channels, long position, CancellationToken ct)
    {
        if (channels.Count == 0)
        {
            return;
        }

        await _writing.WaitAsync(ct);
        try
        {
            // Written first: a start that failed leaves no position in memory either, so the next attempt starts it again.
            var value = position.ToString(CultureInfo.InvariantCulture);
            await state.SetManyAsync(scope, [.. channels.Select(c => KeyValuePair.Create(c, value))], ct);
            lock (_gate)
            {
                foreach (var channel in channels)
                {
                    _positions[channel] = position;
                    _unsaved.Remove(channel);
                }
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>The channel is no longer heard: its position goes, in memory and in the store, and a save under way finishes first.</summary>
    public async Task ForgetAsync(string channel, CancellationToken ct)
    {
        await _writing.WaitAsync(ct);
        try
        {
            lock (_gate)
            {
                _positions.Remove(channel);
                _unsaved.Remove(channel);
            }

            await state.DeleteAsync(scope, channel, ct);
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>
    /// Writes every position moved since the last save, in one store call; a channel no longer heard is left out. On a
    /// failure the positions stay unsaved and the next save tries them again. Returns how many were written.
    /// </summary>
    public async Task<int> SaveAsync(CancellationToken ct)
    {
        await _writing.WaitAsync(ct);
        try
        {
            List<KeyValuePair<string, long>> moved;
            lock (_gate)
            {
                if (_unsaved.Count == 0)
                {
                    return 0;
                }

                moved = [.. _unsaved.Select(c => KeyValuePair.Create(c, _positions[c]))];
                _unsaved.Clear();
            }

            // Heard is asked here, under the write lock: a channel unlinked after this is forgotten after this write.
            var entries = moved.Where(m => isHeard(m.Key)).Select(m => KeyValuePair.Create(m.Key, m.Value.ToString(CultureInfo.InvariantCulture))).ToList();
            try
            {
                if (entries.Count > 0)
                {
                    await state.SetManyAsync(scope, entries, ct);
                }
            }
            catch
            {
                lock (_gate)
                {
                    // Still unsaved: the next save writes whatever position each has by then.
                    _unsaved.UnionWith(moved.Select(m => m.Key));
                }

                throw;
            }

            return entries.Count;
        }
        finally
        {
            _writing.Release();
        }
    }
}
