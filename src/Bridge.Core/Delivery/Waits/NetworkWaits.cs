using System.Globalization;
using Bridge.Core.Connectors;

namespace Bridge.Core.Delivery.Waits;

/// <summary>Why deliveries toward one network wait: the fault, since when, until when (a rate limit) and the server's words.</summary>
public sealed record NetworkWait(NetworkFault Fault, string Reason, DateTimeOffset Since, DateTimeOffset NextTry)
{
    /// <summary>"rate limited until …" / "server error since …, next try at …" / "unreachable since …"; times in UTC.</summary>
    public string Describe() => Fault switch
    {
        NetworkFault.RateLimited => $"rate limited until {Stamp(NextTry)} ({Reason})",
        NetworkFault.ServerError => $"server error since {Stamp(Since)}, next try at {Stamp(NextTry)} ({Reason})",
        NetworkFault.Unreachable => $"unreachable since {Stamp(Since)}, next try at {Stamp(NextTry)} ({Reason})",
        _ => Reason,
    };

    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

/// <summary>
/// What each network's delivery worker waits for because of the network itself (a rate limit, server errors, no
/// answer), for <c>/healthz</c>. A worker sets it when a delivery is refused for such a reason and clears it on the
/// next delivery that goes through; a rate limit also ends by itself when its time is up.
/// </summary>
public sealed class NetworkWaits(TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, NetworkWait> _waits = new(StringComparer.Ordinal);

    /// <summary>Records a wait; the same fault again keeps its first "since".</summary>
    public void Faulted(string network, NetworkFault fault, string reason, DateTimeOffset nextTry)
    {
        if (fault == NetworkFault.None)
        {
            return;
        }

        lock (_gate)
        {
            var since = _waits.TryGetValue(network, out var was) && was.Fault == fault ? was.Since : _time.GetUtcNow();
            _waits[network] = new NetworkWait(fault, Shorten(reason), since, nextTry);
        }
    }

    public void Cleared(string network)
    {
        lock (_gate)
        {
            _waits.Remove(network);
        }
    }

    /// <summary>The network's current wait, or null; a rate limit whose time is up is over.</summary>
    public NetworkWait? Current(string network)
    {
        lock (_gate)
        {
            if (!_waits.TryGetValue(network, out var wait))
            {
                return null;
            }

            return wait.Fault == NetworkFault.RateLimited && wait.NextTry <= _time.GetUtcNow() ? null : wait;
        }
    }

    // A server's error text can be a whole HTML page; health is one line.
    private static string Shorten(string reason)
    {
        var line = reason.ReplaceLineEndings(" ").Trim();
        return line.Length <= 160 ? line : line[..157] + "...";
    }
}
