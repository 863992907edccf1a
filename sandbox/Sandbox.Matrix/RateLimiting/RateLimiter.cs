using System.Globalization;
using System.Text.Json.Nodes;
using Sandbox.Matrix.Errors;

namespace Sandbox.Matrix.RateLimiting;

/// <summary>
/// A per-user fixed one-second window. Off by default; tests switch it on to see how a client copes with
/// <c>429 M_LIMIT_EXCEEDED</c> (body <c>retry_after_ms</c> plus a <c>Retry-After</c> header, as newer servers send).
/// </summary>
internal sealed class RateLimiter
{
    private readonly object _gate = new();
    private readonly Dictionary<string, (long WindowStartMs, int Count)> _windows = new(StringComparer.Ordinal);
    private int? _perSecond;

    public int? PerSecond
    {
        get
        {
            lock (_gate)
            {
                return _perSecond;
            }
        }

        set
        {
            lock (_gate)
            {
                _perSecond = value;
                _windows.Clear();
            }
        }
    }

    public void Check(string userId)
    {
        long retryAfterMs;
        lock (_gate)
        {
            if (_perSecond is not { } limit)
            {
                return;
            }

            var now = Environment.TickCount64;
            if (!_windows.TryGetValue(userId, out var window) || now - window.WindowStartMs >= 1000)
            {
                window = (now, 0);
            }

            window.Count++;
            _windows[userId] = window;
            if (window.Count <= limit)
            {
                return;
            }

            retryAfterMs = Math.Max(1, 1000 - (now - window.WindowStartMs));
        }

        var ex = new MatrixException(429, ErrorCodes.LimitExceeded, "Too Many Requests", new JsonObject { ["retry_after_ms"] = retryAfterMs });
        ex.Headers["Retry-After"] = Math.Max(1, (long)Math.Ceiling(retryAfterMs / 1000.0)).ToString(CultureInfo.InvariantCulture);
        throw ex;
    }
}
