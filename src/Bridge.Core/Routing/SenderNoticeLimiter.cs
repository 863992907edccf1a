namespace Bridge.Core.Routing;

/// <summary>
/// At most one policy notice per person per window, so that a blocked burst (a pasted log, a stream of reactions)
/// earns one notice rather than one per event. Memory is bounded: at <see cref="Capacity"/> people, expired entries are
/// dropped first and then the oldest; forgetting a person can only cost an extra notice, never lose a decision.
/// Driven by a <see cref="TimeProvider"/> so tests can move the clock. Thread-safe.
/// </summary>
public sealed class SenderNoticeLimiter
{
    /// <summary>The most people remembered at once.</summary>
    public const int Capacity = 10_000;

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Network, string UserId), DateTimeOffset> _lastNotice = new();

    public SenderNoticeLimiter(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Number of people currently remembered (for tests and metrics).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _lastNotice.Count;
            }
        }
    }

    /// <summary>True when <paramref name="userId"/> on <paramref name="network"/> may be told now; records the notice if so.</summary>
    public bool TryAcquire(string network, string userId, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(userId);
        var now = _time.GetUtcNow();
        var key = (network, userId);
        lock (_gate)
        {
            if (_lastNotice.TryGetValue(key, out var last) && now - last < window)
            {
                return false;
            }

            if (!_lastNotice.ContainsKey(key) && _lastNotice.Count >= Capacity)
            {
                MakeRoom(now, window);
            }

            _lastNotice[key] = now;
            return true;
        }
    }

    private void MakeRoom(DateTimeOffset now, TimeSpan window)
    {
        foreach (var (key, at) in _lastNotice.ToList())
        {
            if (now - at >= window)
            {
                _lastNotice.Remove(key);
            }
        }

        if (_lastNotice.Count >= Capacity)
        {
            var oldest = _lastNotice.MinBy(kv => kv.Value).Key;
            _lastNotice.Remove(oldest);
        }
    }
}
