namespace Sandbox.Mattermost.Http;

/// <summary>
/// GCRA, the algorithm the server uses (throttled): emission interval 1/PerSec, tolerance MaxBurst intervals.
/// </summary>
internal sealed class RateLimiter(TimeProvider time)
{
    private readonly Dictionary<string, DateTimeOffset> _tat = [];
    private readonly Lock _gate = new();

    public sealed record Decision(bool Limited, int Limit, int Remaining, int ResetSeconds, int RetryAfterSeconds);

    public Decision Check(string key, int perSec, int maxBurst)
    {
        var now = time.GetUtcNow();
        var interval = TimeSpan.FromSeconds(1.0 / Math.Max(1, perSec));
        var tolerance = interval * maxBurst;
        lock (_gate)
        {
            var tat = _tat.TryGetValue(key, out var t) && t > now ? t : now;
            var newTat = tat + interval;
            var allowAt = newTat - tolerance - interval;
            if (now < allowAt)
            {
                return new Decision(true, maxBurst + 1, 0, Ceil(tat - now), Math.Max(1, Ceil(allowAt - now)));
            }
            _tat[key] = newTat;
            var remaining = (int)Math.Floor((tolerance + interval - (newTat - now)) / interval);
            return new Decision(false, maxBurst + 1, Math.Max(0, remaining), Ceil(newTat - now), 0);
        }
    }

    public void Reset()
    {
        lock (_gate)
        {
            _tat.Clear();
        }
    }

    private static int Ceil(TimeSpan t) => (int)Math.Ceiling(Math.Max(0, t.TotalSeconds));
}
