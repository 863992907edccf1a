using System.Globalization;
using Bridge.Testing;

namespace Bridge.Bench;

/// <summary>
/// <c>scripts/bench.sh --flood N [--vs DAEMON]</c>: Mallory floods link "flood" with N messages while Quinn sends a few on
/// link "quiet" toward the same network; prints how long the quiet link's messages took (median, p99) while the flood's
/// backlog drained, and checks that the flood arrived whole, once and in order. With <c>--vs</c> the builds run in turn
/// on fresh servers, one table; each build's stage histograms are printed for the quiet link's window and for the whole.
/// </summary>
internal static class FloodBench
{
    public static async Task<int> RunAsync(int flood, int quiet, string? senderRate, string? linkRate, string? vsDaemon)
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

        var ok = true;
        var rows = new List<(string Build, FloodResult Result, bool InOrder, bool QuietOk, List<string> QuietStages, List<string> WholeStages)>();
        foreach (var (build, daemon) in TwoProsodyWorld.Daemons(vsDaemon))
        {
            var admin = $"http://127.0.0.1:{FreePorts.Next()}";
            var yaml = (limits == "limits:" ? "" : limits + "\n") + $"admin:\n  listen: {admin}\n";
            await using var s = await FloodScenario.StartAsync(yaml, daemon);
            using var http = new HttpClient { BaseAddress = new Uri(admin), Timeout = TimeSpan.FromSeconds(10) };
            var scrapes = new Dictionary<FloodMark, Dictionary<(string Stage, string Network), (double[] Bounds, double[] Cumulative, double Sum, double Count)>>();
            var start = Stages.Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
            var r = await s.RunAsync(flood, quiet, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(30),
                async m => scrapes[m] = Stages.Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative))));
            var inOrder = r.FloodReceived.SequenceEqual(Enumerable.Range(0, flood).Select(i => $"flood-{i}"));
            var quietOk = r.QuietReceived.SequenceEqual(Enumerable.Range(0, quiet).Select(i => $"quiet-{i}"));
            ok &= inOrder && quietOk && r.FloodReceivedWhenQuietDone < flood;
            rows.Add((build, r, inOrder, quietOk,
                [.. Stages.Difference(scrapes[FloodMark.QuietStarts], scrapes[FloodMark.QuietDone])],
                [.. Stages.Difference(start, scrapes[FloodMark.FloodDone])]));
        }

        Console.WriteLine($"Flood: {flood} messages from one person on link A, {quiet} from another person on link B (one every 50 ms, sent once the flood is on its server), both toward one XMPP network (two private Prosody servers, loopback)");
        Console.WriteLine($"limits: sender {senderRate ?? "default"}/s, link {linkRate ?? "default"}/s (defaults: see docs/configuration.md)");
        foreach (var (build, daemon) in TwoProsodyWorld.Daemons(vsDaemon))
        {
            Console.WriteLine($"{build}: {daemon}");
        }

        Console.WriteLine("build | flood sent s | flood drained s (msg/s) | quiet delay p50 / p99 / max ms | flood across when quiet done | flood received / distinct / in order | quiet all once in order");
        foreach (var (build, r, inOrder, quietOk, _, _) in rows)
        {
            Console.WriteLine(FormattableString.Invariant(
                $"{build,-5} | {r.FloodSent.TotalSeconds,12:F1} | {r.FloodDrained.TotalSeconds,8:F1} ({flood / r.FloodDrained.TotalSeconds,5:F0}) | {r.QuietPercentile(0.5),6:F0} / {r.QuietPercentile(0.99),5:F0} / {r.QuietDelaysMs[^1],5:F0} | {r.FloodReceivedWhenQuietDone,28} | {r.FloodReceived.Count} / {r.FloodReceived.Distinct().Count()} / {inOrder} | {quietOk}"));
        }

        foreach (var (build, _, _, _, quietStages, wholeStages) in rows)
        {
            foreach (var (title, lines) in new[] { ("from the quiet link's first send until all of it was across", quietStages), ("from the start until the whole flood was across", wholeStages) })
            {
                Console.WriteLine();
                Console.WriteLine($"STAGES {build} {title} (bridge.stage.duration from /metrics; route and commit by source network, the rest by destination; fetch one sample per read)");
                Console.WriteLine("stage    | network |      n | mean ms | p50 <= ms | p99 <= ms");
                foreach (var line in lines)
                {
                    Console.WriteLine(line);
                }
            }
        }

        return ok ? 0 : 1;
    }

    private static string Burst(string rate) =>
        Math.Max(1, (int)double.Parse(rate, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);
}
