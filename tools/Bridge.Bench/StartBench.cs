using System.Diagnostics;
using System.Globalization;
using Bridge.Testing;

namespace Bridge.Bench;

/// <summary>
/// Start to ready and start to first relayed message, for one daemon build or two side by side (<c>--vs PATH</c>, run in
/// turn A B A B ... on the same servers, people and store, so the two are compared in one run). Each round starts the
/// daemon, has Alice say a probe every 50 ms from the moment of the start, and stops at the first probe Bob sees; then
/// the daemon is stopped with SIGTERM and the next round starts. Printed, never asserted.
/// </summary>
internal static class StartBench
{

    public static async Task<int> RunAsync(int rounds, string? vsDaemon)
    {
        var daemons = TwoProsodyWorld.Daemons(vsDaemon);
        await using var world = await TwoProsodyWorld.StartAsync();
        var (config, alice, bob) = (world.ConfigPath, world.Alice, world.Bob);

        // One unmeasured start per build first: the store is created, puppets made, files in the page cache.
        var results = daemons.ToDictionary(d => d.Name, _ => new List<StartRound>());
        for (var round = -1; round < rounds; round++)
        {
            foreach (var (name, path) in daemons)
            {
                var r = await OneStartAsync(path, config, alice, bob, $"{name}{round}");
                if (round >= 0)
                {
                    results[name].Add(r);
                }
            }
        }

        Console.WriteLine(FormattableString.Invariant($"start of the daemon, XMPP ⇄ XMPP (two private Prosody servers, slixmpp people), {rounds} rounds per build in turn; median (min-max)"));
        Console.WriteLine("build  start->ready ms        start->first relayed ms   CPU s at first relayed   RSS MiB at first relayed");
        foreach (var (name, path) in daemons)
        {
            var rs = results[name];
            Console.WriteLine(FormattableString.Invariant(
                $"{name,-5}  {Stat(rs.Select(r => r.ReadyMs)),-22} {Stat(rs.Select(r => r.FirstRelayedMs)),-25} {Stat(rs.Select(r => r.CpuSeconds), "F3"),-24} {Stat(rs.Select(r => r.RssMiB), "F0")}"));
        }

        foreach (var (name, path) in daemons)
        {
            Console.WriteLine($"{name} = {path}");
        }

        return 0;
    }

    private static async Task<StartRound> OneStartAsync(string daemon, string config, XmppPerson alice, XmppPerson bob, string tag)
    {
        var clock = Stopwatch.StartNew();
        using var process = DaemonProcess.Start(daemon, config, out var ready);
        try
        {
            var firstRelayed = await Probes.UntilOneCrossesAsync(clock, alice, bob, $"probe {tag} ", "the first probe of " + tag);
            var readyMs = await ready.WaitAsync(TimeSpan.FromSeconds(30));
            var round = new StartRound(readyMs, firstRelayed, ProcessStats.CpuTime(process.Id).TotalSeconds, ProcessStats.RssMegabytes(process.Id));

            // Let the rest of the probes cross before the stop, so the next start has no catch-up to do.
            await Task.Delay(1000);
            await DaemonProcess.StopAsync(process);
            return round;
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }
    }

    internal static string Stat(IEnumerable<double> values, string format = "F0")
    {
        var sorted = values.Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
        return string.Create(CultureInfo.InvariantCulture, $"{median.ToString(format, CultureInfo.InvariantCulture)} ({sorted[0].ToString(format, CultureInfo.InvariantCulture)}-{sorted[^1].ToString(format, CultureInfo.InvariantCulture)})");
    }

    private sealed record StartRound(double ReadyMs, double FirstRelayedMs, double CpuSeconds, double RssMiB);
}
