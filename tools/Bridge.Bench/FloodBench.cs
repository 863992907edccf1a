using System.Globalization;
using Bridge.Testing;

namespace Bridge.Bench;

/// <summary>
/// <c>scripts/bench.sh --flood N</c>: Mallory floods link "flood" with N messages while Quinn sends a few on link
/// "quiet" toward the same network; prints how long the quiet link's messages took (median, p99) while the flood's
/// backlog drained, and checks that the flood arrived whole, once and in order.
/// </summary>
internal static class FloodBench
{
    public static async Task<int> RunAsync(int flood, int quiet, string? senderRate, string? linkRate)
    {
        var limits = "limits:";
        if (senderRate is not null)
        {
            limits += $"\n  senderPerSecond: {senderRate}\n  senderBurst: {Burst(senderRate)}";
        }

        if (linkRate is not null)
        {
            limits += $"\n  linkPerSecond: {linkRate}\n  linkBurst: {Burst(linkRate)}";
        }

        await using var s = await FloodScenario.StartAsync(limits == "limits:" ? "" : limits);
        var r = await s.RunAsync(flood, quiet, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(30));
        var inOrder = r.FloodReceived.SequenceEqual(Enumerable.Range(0, flood).Select(i => $"flood-{i}"));
        var quietOk = r.QuietReceived.SequenceEqual(Enumerable.Range(0, quiet).Select(i => $"quiet-{i}"));
        Console.WriteLine($"Flood: {flood} messages from one person on link A, {quiet} from another person on link B, both toward one XMPP network (two private Prosody servers, loopback)");
        Console.WriteLine($"limits: sender {senderRate ?? "default"}/s, link {linkRate ?? "default"}/s (defaults: see docs/configuration.md)");
        Console.WriteLine(FormattableString.Invariant($"flood sent in {r.FloodSent.TotalSeconds:F1} s; backlog drained at {r.FloodDrained.TotalSeconds:F1} s ({flood / r.FloodDrained.TotalSeconds:F0} msg/s)"));
        Console.WriteLine(FormattableString.Invariant($"quiet link delay while the flood drained: median {r.QuietPercentile(0.5):F0} ms, p99 {r.QuietPercentile(0.99):F0} ms, max {r.QuietDelaysMs[^1]:F0} ms"));
        Console.WriteLine($"flood messages across when the quiet link was done: {r.FloodReceivedWhenQuietDone} of {flood}");
        Console.WriteLine($"flood: received {r.FloodReceived.Count}, distinct {r.FloodReceived.Distinct().Count()}, in order: {inOrder}; quiet: all once in order: {quietOk}");
        return inOrder && quietOk && r.FloodReceivedWhenQuietDone < flood ? 0 : 1;
    }

    private static string Burst(string rate) =>
        Math.Max(1, (int)double.Parse(rate, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);
}
