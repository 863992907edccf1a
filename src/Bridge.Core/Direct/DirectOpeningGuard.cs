namespace Bridge.Core.Direct;

/// <summary>
/// What keeps direct-chat openings from hurting the connectors that ask for them: one lock per pair of people (only
/// two openings of the same pair wait for each other; the map holds the pairs being opened now and is bounded), and a
/// per-initiator rate limit (a fixed one-minute window; past the limit a refusal is logged once per window and counted).
/// </summary>
internal sealed class DirectOpeningGuard(TimeProvider time)
{
    /// <summary>Pairs being opened at once; past it openings are refused (the map never grows without bound).</summary>
    public const int MaxPairsInProgress = 256;

    /// <summary>Initiators remembered at once; when full, the ones whose window has passed are forgotten first.</summary>
    public const int MaxInitiators = 4096;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, PairLock> _pairs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Window> _initiators = new(StringComparer.Ordinal);
    private long _throttled;

    public int PerMinute { get; set; } = 6;

    public long Throttled => Interlocked.Read(ref _throttled);

    internal int PairsHeld
    {
        get
        {
            lock (_gate)
            {
                return _pairs.Count;
            }
        }
    }

    /// <summary>Null when <paramref name="initiator"/> may cause one more opening; else why not, and whether to log it.</summary>
    public (string Reason, bool LogIt)? Admit(string initiator)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (!_initiators.TryGetValue(initiator, out var window) || now - window.Start >= TimeSpan.FromMinutes(1))
            {
                if (_initiators.Count >= MaxInitiators)
                {
                    foreach (var stale in _initiators.Where(kv => now - kv.Value.Start >= TimeSpan.FromMinutes(1)).Select(kv => kv.Key).ToList())
                    {
                        _initiators.Remove(stale);
                    }

                    if (_initiators.Count >= MaxInitiators)
                    {
                        Interlocked.Increment(ref _throttled);
                        return ("too many people are opening direct chats now", false);
                    }
                }

                window = new Window(now);
                _initiators[initiator] = window;
            }

            if (window.Count >= PerMinute)
            {
                Interlocked.Increment(ref _throttled);
                var first = !window.Logged;
                window.Logged = true;
                return ($"more than {PerMinute} direct chats a minute", first);
            }

            window.Count++;
            return null;
        }
    }

    /// <summary>Waits for the pair's lock; null when too many pairs are being opened now. Dispose to release.</summary>
    public async Task<IDisposable?> EnterPairAsync(string pairId, CancellationToken cancellationToken)
    {
        PairLock pair;
        lock (_gate)
        {
            if (!_pairs.TryGetValue(pairId, out pair!))
            {
                if (_pairs.Count >= MaxPairsInProgress)
                {
                    Interlocked.Increment(ref _throttled);
                    return null;
                }

                pair = new PairLock();
                _pairs[pairId] = pair;
            }

            pair.Users++;
        }

        try
        {
            await pair.Semaphore.WaitAsync(cancellationToken);
        }
        catch
        {
            Leave(pairId, pair, release: false);
            throw;
        }

        return new Held(this, pairId, pair);
    }

    private void Leave(string pairId, PairLock pair, bool release)
    {
        if (release)
        {
            pair.Semaphore.Release();
        }

        lock (_gate)
        {
            if (--pair.Users == 0)
            {
                _pairs.Remove(pairId);
                pair.Semaphore.Dispose();
            }
        }
    }

    private sealed class Window(DateTimeOffset start)
    {
        public DateTimeOffset Start { get; } = start;
        public int Count { get; set; }
        public bool Logged { get; set; }
    }

    private sealed class PairLock
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);
        public int Users { get; set; }
    }

    private sealed class Held(DirectOpeningGuard guard, string pairId, PairLock pair) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                guard.Leave(pairId, pair, release: true);
            }
        }
    }
}
