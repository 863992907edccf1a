namespace Bridge.Core.Storage;

/// <summary>
/// What this process may do while several processes share one store: the fencing token (epoch) of the leader lease it
/// holds, which the store checks inside every commit, and whether it may act on the networks right now. The lease is
/// the only writer; the store and the delivery workers read it. A process without a lease (SQLite) is never fenced.
/// </summary>
/// <remarks>
/// "May act" is decided on the monotonic clock: after a successful renewal at <c>t</c> the lease is ours until
/// <c>t + duration</c> as the database counts it, so we stop sending by then on our own, before a standby may take over.
/// A process frozen (SIGSTOP) past that moment wakes up unable to send until the database confirms it still holds the
/// lease; its commits carry the old epoch and are refused if another process took over meanwhile.
/// </remarks>
public sealed class LeaderFence
{
    private readonly TimeProvider _time;
    private readonly bool _leased;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _lost = new();
    private long? _epoch;
    private long _validUntil;
    private bool _sessionDown;
    private int _lostOnce;

    /// <param name="leased">True when a leader lease governs this process (PostgreSQL shared by several processes).</param>
    public LeaderFence(TimeProvider time, bool leased)
    {
        _time = time;
        _leased = leased;
    }

    /// <summary>A fence that never blocks and adds no check: one process alone on its store.</summary>
    public static LeaderFence Unleased(TimeProvider? time = null) => new(time ?? TimeProvider.System, leased: false);

    /// <summary>The epoch every commit must still find in the lease row; null when commits are not fenced.</summary>
    public long? Epoch
    {
        get
        {
            lock (_lock)
            {
                return _leased ? _epoch : null;
            }
        }
    }

    /// <summary>Fires once when the lease is lost for good (a newer epoch was seen, or the lease ran out unconfirmed).</summary>
    public CancellationToken Lost => _lost.Token;

    public bool IsLost => _lost.IsCancellationRequested;

    /// <summary>
    /// True while this process may send to the networks: always without a lease; with one, only while it holds an
    /// epoch, its last renewal is younger than the lease duration and the lease session answered at the last heartbeat.
    /// </summary>
    public bool MayAct
    {
        get
        {
            if (!_leased)
            {
                return true;
            }

            lock (_lock)
            {
                return _epoch is not null && !_lost.IsCancellationRequested && !_sessionDown && _time.GetTimestamp() < _validUntil;
            }
        }
    }

    /// <summary>The lease was taken (or renewed) with a request sent at <paramref name="requestedAt"/> (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public void Held(long epoch, long requestedAt, TimeSpan duration)
    {
        lock (_lock)
        {
            _epoch = epoch;
            _sessionDown = false;
            _validUntil = requestedAt + (long)(duration.TotalSeconds * _time.TimestampFrequency);
        }
    }

    /// <summary>The lease session did not answer: stop sending until a renewal succeeds.</summary>
    public void SessionDown()
    {
        lock (_lock)
        {
            _sessionDown = true;
        }
    }

    /// <summary>True when the last confirmed renewal is older than the lease duration.</summary>
    public bool Expired
    {
        get
        {
            lock (_lock)
            {
                return _time.GetTimestamp() >= _validUntil;
            }
        }
    }

    /// <summary>
    /// The lease is gone for good: nothing may be sent or committed any more. Returns true only the first time, so a
    /// deposed process says so once rather than at every commit refused after.
    /// </summary>
    public bool Lose()
    {
        if (Interlocked.Exchange(ref _lostOnce, 1) == 1)
        {
            return false;
        }

        try
        {
            _lost.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Never disposed on purpose (tokens handed out may outlive a stop); kept defensive.
        }

        return true;
    }
}

/// <summary>A commit was refused because another process took the leader lease over: this one must stop.</summary>
public sealed class LeaderFencedException(string message, Exception? inner = null) : InvalidOperationException(message, inner);
