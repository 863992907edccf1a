using System.Diagnostics;
using System.Globalization;
using Bridge.Testing;

namespace Bridge.Bench;

/// <summary>
/// Memory and CPU of one daemon build or two side by side (<c>--vs DAEMON</c>), in turn on the same servers, people
/// and store: RSS idle after a warm-up, after a burst of N messages, and after 45 s idle again; CPU per 1,000 messages
/// of the burst. A build can be a wrapper script that sets runtime knobs (GC settings) and execs the daemon, since the
/// figures are read from the process it leaves running. Printed, never asserted.
/// </summary>
internal static class MemoryBench
{
    public static async Task<int> RunAsync(int burst, int rounds, string? vsDaemon)
    {
        var daemons = TwoProsodyWorld.Daemons(vsDaemon);
        await using var world = await TwoProsodyWorld.StartAsync();
        var (config, alice, bob) = (world.ConfigPath, world.Alice, world.Bob);

        var results = daemons.ToDictionary(d => d.Name, _ => new List<MemoryRound>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, path) in daemons)
            {
                results[name].Add(await OneRunAsync(path, config, alice, bob, $"{name}{round}", burst));
            }
        }

        Console.WriteLine(FormattableString.Invariant($"memory and CPU of the daemon, XMPP ⇄ XMPP (two private Prosody servers, slixmpp people), burst of {burst}, {rounds} rounds per build in turn; median (min-max)"));
        Console.WriteLine("build  RSS idle MiB     RSS after burst MiB   RSS after 45 s idle MiB   CPU s per 1,000   msg/s");
        foreach (var (name, _) in daemons)
        {
            var rs = results[name];
            Console.WriteLine(FormattableString.Invariant(
                $"{name,-5}  {Stat(rs.Select(r => r.IdleMiB), "F0"),-16} {Stat(rs.Select(r => r.LoadedMiB), "F0"),-21} {Stat(rs.Select(r => r.AfterIdleMiB), "F0"),-25} {Stat(rs.Select(r => r.CpuPerThousand), "F2"),-17} {Stat(rs.Select(r => r.Rate), "F0")}"));
        }

        foreach (var (name, path) in daemons)
        {
            Console.WriteLine($"{name} = {path}");
        }

        return 0;
    }

    private static async Task<MemoryRound> OneRunAsync(string daemon, string config, XmppPerson alice, XmppPerson bob, string tag, int burst)
    {
        var botSeen = BotPresence.Count(alice, bob);
        using var process = DaemonProcess.Start(daemon, config, out var ready);
        try
        {
            await ready.WaitAsync(TimeSpan.FromSeconds(60));
            await BotPresence.WaitForJoinAsync(alice, bob, botSeen);
            var warm = $"warm {tag} ";
            for (var i = 0; i < 20; i++)
            {
                await alice.SayAsync(warm + i.ToString(CultureInfo.InvariantCulture));
            }

            await bob.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith(warm, StringComparison.Ordinal)) >= 20, TimeSpan.FromSeconds(60), "warm-up of " + tag);
            await Task.Delay(2000);
            var idle = ProcessStats.RssMegabytes(process.Id);

            var prefix = $"burst {tag} ";
            var cpuBefore = ProcessStats.CpuTime(process.Id);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < burst; i++)
            {
                await alice.SayAsync(prefix + i.ToString(CultureInfo.InvariantCulture));
            }

            await bob.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith(prefix, StringComparison.Ordinal)) >= burst, TimeSpan.FromMinutes(10), "the burst of " + tag);
            var seconds = clock.Elapsed.TotalSeconds;
            await Task.Delay(500);
            var cpu = (ProcessStats.CpuTime(process.Id) - cpuBefore).TotalSeconds;
            var loaded = ProcessStats.RssMegabytes(process.Id);
            await Task.Delay(TimeSpan.FromSeconds(45));
            var afterIdle = ProcessStats.RssMegabytes(process.Id);
            await DaemonProcess.StopAsync(process);
            return new MemoryRound(idle, loaded, afterIdle, cpu * 1000 / burst, burst / seconds);
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

    private static string Stat(IEnumerable<double> values, string format) => StartBench.Stat(values, format);

    private sealed record MemoryRound(double IdleMiB, double LoadedMiB, double AfterIdleMiB, double CpuPerThousand, double Rate);
}

/// <summary>The daemon as a child process for the benches: started on a configuration, stopped with SIGTERM.</summary>
internal static class DaemonProcess
{
    /// <summary><c>DAEMON run --config CONFIG</c> with its output read by the bench, lines in the simple format.</summary>
    public static ProcessStartInfo RunInfo(string daemon, string config)
    {
        var info = new ProcessStartInfo(daemon)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(config)!,
        };
        info.ArgumentList.Add("run");
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(config);
        info.Environment["Logging__Console__FormatterName"] = "simple";
        return info;
    }

    public static Process Start(string daemon, string config, out Task<double> ready, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = RunInfo(daemon, config);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var started = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + daemon);
        // BRIDGE_BENCH_TRACE=1 (or debug): the daemon's log lines (Information, or Debug) with the time since its start, to see where a start's time goes.
        var trace = Environment.GetEnvironmentVariable("BRIDGE_BENCH_TRACE") is "1" or "debug";
        process.OutputDataReceived += (_, e) =>
        {
            if (trace && e.Data is { } line)
            {
                Console.Error.WriteLine(FormattableString.Invariant($"[{clock.Elapsed.TotalMilliseconds,7:F0} ms] {line}"));
            }

            if (e.Data?.Contains("Bridge started", StringComparison.Ordinal) == true)
            {
                started.TrySetResult(clock.Elapsed.TotalMilliseconds);
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        ready = started.Task;
        return process;
    }

    public static async Task StopAsync(Process process)
    {
        _ = Kill(process.Id, 15);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(stop.Token);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
