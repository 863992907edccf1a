using System.Diagnostics;
using System.Globalization;
using Bridge.Testing;

namespace Bridge.Bench;

/// <summary>The start benches' probe: Alice says "PREFIX i" every 50 ms until Bob sees one of them.</summary>
internal static class Probes
{
    private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Milliseconds on <paramref name="since"/> when Bob saw the first probe (read before the probes are stopped, which
    /// can take up to one interval); throws <see cref="TimeoutException"/> if none crossed within 60 s.
    /// </summary>
    public static async Task<double> UntilOneCrossesAsync(Stopwatch since, XmppPerson alice, XmppPerson bob, string prefix, string what)
    {
        using var stopProbes = new CancellationTokenSource();
        var probes = Task.Run(async () =>
        {
            for (var i = 0; !stopProbes.IsCancellationRequested; i++)
            {
                await alice.SayAsync(prefix + i.ToString(CultureInfo.InvariantCulture));
                await Task.Delay(Every, CancellationToken.None);
            }
        }, CancellationToken.None);
        try
        {
            await bob.WaitForAsync(ms => ms.Any(m => m.Body.StartsWith(prefix, StringComparison.Ordinal)), TimeSpan.FromSeconds(60), what);
            return since.Elapsed.TotalMilliseconds;
        }
        finally
        {
            await stopProbes.CancelAsync();
            await probes;
        }
    }
}
