using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sandbox.Matrix.Errors;

namespace Sandbox.Matrix.Faults;

/// <summary>
/// Test-only fault injection, off unless a test switches it on: for a set time every client-server and media request
/// is answered as a failing Synapse answers it, either <c>500 M_UNKNOWN</c> or <c>429 M_LIMIT_EXCEEDED</c> with
/// <c>retry_after_ms</c> in the body and a <c>Retry-After</c> header (seconds, rounded up). Pushes to the appservice go on.
/// </summary>
internal sealed class FaultSwitch
{
    private readonly Lock _gate = new();
    private Fault? _fault;
    private int _hits;

    private sealed record Fault(int Status, TimeSpan RetryAfter, long UntilMs);

    /// <summary>Requests answered with the fault so far (how hard a client hammered).</summary>
    public int Hits => Volatile.Read(ref _hits);

    public void ServerErrors(TimeSpan duration) => Set(new Fault(500, TimeSpan.Zero, Environment.TickCount64 + (long)duration.TotalMilliseconds));

    public void RateLimited(TimeSpan duration, TimeSpan retryAfter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retryAfter, TimeSpan.Zero);
        Set(new Fault(429, retryAfter, Environment.TickCount64 + (long)duration.TotalMilliseconds));
    }

    public void Clear() => Set(null);

    /// <summary>Throws the fault's error for a client or media request while a fault is on.</summary>
    public void Check(HttpRequest request)
    {
        Fault? fault;
        lock (_gate)
        {
            fault = _fault;
            if (fault is null)
            {
                return;
            }

            if (Environment.TickCount64 >= fault.UntilMs)
            {
                _fault = null;
                return;
            }
        }

        if (!request.Path.StartsWithSegments("/_matrix/client", StringComparison.Ordinal) && !request.Path.StartsWithSegments("/_matrix/media", StringComparison.Ordinal))
        {
            return;
        }

        Interlocked.Increment(ref _hits);
        if (fault.Status == 500)
        {
            throw new MatrixException(500, ErrorCodes.Unknown, "Internal server error");
        }

        var ms = (long)fault.RetryAfter.TotalMilliseconds;
        var ex = new MatrixException(429, ErrorCodes.LimitExceeded, "Too Many Requests", new JsonObject { ["retry_after_ms"] = ms });
        ex.Headers["Retry-After"] = Math.Max(1, (long)Math.Ceiling(ms / 1000.0)).ToString(CultureInfo.InvariantCulture);
        throw ex;
    }

    private void Set(Fault? fault)
    {
        lock (_gate)
        {
            _fault = fault;
            _hits = 0;
        }
    }
}
