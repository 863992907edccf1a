using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Bridge.Testing;

namespace Bridge.Bench;

/// <summary>
/// <c>scripts/bench.sh --peer PATH</c> (issue 12): the bridge and a matterbridge binary the user points at, side by side in
/// one run, in turn on the same two private Prosody servers, rooms and slixmpp people (Alice on a.localhost, Bob on
/// b.localhost). The bridge runs as it does in the other benches (a component per server, puppets); matterbridge joins
/// a room of its own on each server (<c>benchmb</c>, with people of its own, Carol and Dave, the same slixmpp clients) as a
/// client account <c>mb@DOMAIN</c>, one gateway over the two <c>[xmpp.*]</c> accounts, its nick format empty so that
/// both relay the body unchanged. Rooms of its own because the bridge, coming back, catches up from its rooms' archives
/// what was said while it was away: in shared rooms each bridge round would first relay the previous matterbridge
/// round's messages (about 20 s for 2,220), which is the bridge's job but not this table's. Each round per build: start to the first probe
/// Bob sees, a warm-up, RSS idle, N messages one at a time (latency and CPU, cold), a burst of M sent at once (rate, losses, CPU,
/// RSS), N one at a time again (warm), CPU over 15 s idle.
/// Printed, never asserted: a message that does not arrive counts as lost instead of failing the run.
/// </summary>
internal static class PeerBench
{
    private const string PeerUser = "mb";
    private const string PeerPassword = "mbpass";
    private const string PeerRoom = "benchmb";

    /// <summary>How long a one-at-a-time message may take before it counts as lost.</summary>
    private static readonly TimeSpan LatencyGiveUp = TimeSpan.FromSeconds(10);

    /// <summary>How long the burst may make no progress at Bob's end before the rest counts as lost.</summary>
    private static readonly TimeSpan BurstStall = TimeSpan.FromSeconds(20);

    /// <summary>How long the idle CPU is read for, after the warm-up, with nothing sent.</summary>
    private static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(15);

    public static async Task<int> RunAsync(string peerPath, int latencyCount, int burstCount, int rounds, string? vsDaemon = null)
    {
        if (!File.Exists(peerPath))
        {
            Console.Error.WriteLine($"--peer: no such file: {peerPath}");
            return 2;
        }

        await using var world = await TwoProsodyWorld.StartAsync();
        await world.ServerA.RegisterAsync(PeerUser, PeerPassword);
        await world.ServerB.RegisterAsync(PeerUser, PeerPassword);
        await world.ServerA.RegisterAsync("carol", "carolpass");
        await world.ServerB.RegisterAsync("dave", "davepass");
        await using var carol = await XmppPerson.JoinAsync(world.ServerA, "carol", "carolpass", world.ServerA.Room(PeerRoom), "Carol");
        await using var dave = await XmppPerson.JoinAsync(world.ServerB, "dave", "davepass", world.ServerB.Room(PeerRoom), "Dave");

        // The harness alone: a person in a room of her own, no bridge, reading back her own burst (one server, one client).
        await world.ServerA.RegisterAsync("erin", "erinpass");
        await using var erin = await XmppPerson.JoinAsync(world.ServerA, "erin", "erinpass", world.ServerA.Room("harness"), "Erin");
        var harnessRates = new List<double>();
        using var peerDir = new TempDirectory();
        var peerConfig = peerDir.File("matterbridge.toml");
        await File.WriteAllTextAsync(peerConfig, PeerToml(world.ServerA, world.ServerB));

        // The bridge build under test, any --vs builds (each in turn on the same rooms and store), then matterbridge.
        var daemons = TwoProsodyWorld.Daemons(vsDaemon);
        Build[] builds =
        [
            .. daemons.Select(d => new Build(daemons.Count == 1 ? "bridge" : "bridge " + d.Name, d.Path,
                () => Running.Of(DaemonProcess.RunInfo(d.Path, world.ConfigPath)), world.Alice, world.Bob)),
            new Build("matterbridge", peerPath, () => Running.Of(PeerInfo(peerPath, peerConfig)), carol, dave),
        ];

        var results = builds.ToDictionary(b => b.Name, _ => new List<PeerRound>());
        // One unmeasured start per build first (store created, puppets made, binaries in the page cache), then the
        // measured rounds in turn, the order swapped every round.
        foreach (var build in builds)
        {
            await using var running = build.Start();
            await FirstRelayedAsync(running, build.Sender, build.Receiver, $"{build.Name}-warm");
            await Task.Delay(1000);
        }

        for (var round = 0; round < rounds; round++)
        {
            harnessRates.Add(await HarnessBurstAsync(erin, $"harness{round}", burstCount));
            foreach (var build in round % 2 == 0 ? builds : builds.Reverse())
            {
                results[build.Name].Add(await OneRoundAsync(build, build.Sender, build.Receiver, $"{build.Name}{round}", latencyCount, burstCount));
            }
        }

        Print(builds, results, latencyCount, burstCount, rounds);
        Console.WriteLine(FormattableString.Invariant(
            $"the harness alone (no bridge; one person sends a burst of {burstCount} into a room of her own and reads it back): {(harnessRates.Count == 1 ? harnessRates[0].ToString("F0", CultureInfo.InvariantCulture) : StartBench.Stat(harnessRates, "F0"))} msg/s"));
        return 0;
    }

    /// <summary>The rate at which a person's own burst comes back to her through the room: what one server and one client take.</summary>
    private static async Task<double> HarnessBurstAsync(XmppPerson person, string tag, int burstCount)
    {
        var prefix = $"burst {tag} ";
        var start = DateTimeOffset.UtcNow;
        for (var i = 0; i < burstCount; i++)
        {
            await person.SayAsync(prefix + i.ToString(CultureInfo.InvariantCulture));
        }

        var received = await WaitOrStallAsync(person, prefix, burstCount, BurstStall);
        return received.Count > 0 ? received.Select(m => m.Body).Distinct().Count() / (received.Max(m => m.ReceivedAt) - start).TotalSeconds : double.NaN;
    }

    private static async Task<PeerRound> OneRoundAsync(Build build, XmppPerson alice, XmppPerson bob, string tag, int latencyCount, int burstCount)
    {
        await using var running = build.Start();
        var firstRelayedMs = await FirstRelayedAsync(running, alice, bob, tag);

        // Warm-up: the probes still in flight cross, the sender's puppet (bridge) or avatar look-up (matterbridge) is done.
        await Task.Delay(1000);
        var warm = $"warm {tag} ";
        for (var i = 0; i < 20; i++)
        {
            await alice.SayAsync(warm + i.ToString(CultureInfo.InvariantCulture));
        }

        await WaitOrStallAsync(bob, warm, 20, BurstStall);
        await Task.Delay(2000);
        var idleMiB = ProcessStats.RssMegabytes(running.Pid);

        // One at a time, cold: the first traffic after the start and a short warm-up (a JIT build still compiles).
        var cold = await OneAtATimeAsync(running, alice, bob, $"lat {tag} ", latencyCount);

        // Throughput and CPU: a burst as fast as Alice can send.
        var prefix = $"burst {tag} ";
        var cpuBefore = ProcessStats.CpuTime(running.Pid);
        var start = DateTimeOffset.UtcNow;
        for (var i = 0; i < burstCount; i++)
        {
            await alice.SayAsync(prefix + i.ToString(CultureInfo.InvariantCulture));
        }

        var received = await WaitOrStallAsync(bob, prefix, burstCount, BurstStall);
        await Task.Delay(500);
        var cpu = (ProcessStats.CpuTime(running.Pid) - cpuBefore).TotalSeconds;
        var loadedMiB = ProcessStats.RssMegabytes(running.Pid);

        // One at a time again, warm: after the burst every hot path has run thousands of times.
        var warmOnes = await OneAtATimeAsync(running, alice, bob, $"warm lat {tag} ", latencyCount);

        // Idle CPU: what the process burns with nothing to relay (timers, keep-alives, GC, a JIT still compiling).
        await Task.Delay(2000);
        var idleCpuBefore = ProcessStats.CpuTime(running.Pid);
        await Task.Delay(IdleWindow);
        var idleCpuMsPerMinute = (ProcessStats.CpuTime(running.Pid) - idleCpuBefore).TotalMilliseconds * 60 / IdleWindow.TotalSeconds;

        var bodies = received.Select(m => m.Body).ToList();
        var distinct = bodies.Distinct().Count();
        var seconds = received.Count > 0 ? (received.Max(m => m.ReceivedAt) - start).TotalSeconds : double.NaN;
        var inOrder = bodies.SequenceEqual(Enumerable.Range(0, burstCount).Select(i => prefix + i.ToString(CultureInfo.InvariantCulture)));

        await running.StopAsync();
        return new PeerRound(firstRelayedMs, cold, warmOnes,
            distinct / seconds, burstCount - distinct, bodies.Count - distinct, inOrder,
            cpu * 1000 / burstCount, idleCpuMsPerMinute, idleMiB, loadedMiB);
    }

    /// <summary>Messages one at a time, the next after the previous arrived (or was given up on): latency and the process's CPU.</summary>
    private static async Task<OneAtATime> OneAtATimeAsync(Running running, XmppPerson alice, XmppPerson bob, string prefix, int count)
    {
        var latencies = new List<double>();
        var lost = 0;
        var cpuBefore = ProcessStats.CpuTime(running.Pid);
        var switchesBefore = ProcessStats.ContextSwitches(running.Pid);
        for (var i = 0; i < count; i++)
        {
            var body = prefix + i.ToString(CultureInfo.InvariantCulture);
            var sent = DateTimeOffset.UtcNow;
            await alice.SayAsync(body);
            try
            {
                var got = await bob.WaitForAsync(ms => ms.Any(m => m.Body == body), LatencyGiveUp, body);
                latencies.Add((got.First(m => m.Body == body).ReceivedAt - sent).TotalMilliseconds);
            }
            catch (TimeoutException)
            {
                lost++;
            }
        }

        var cpu = (ProcessStats.CpuTime(running.Pid) - cpuBefore).TotalSeconds;
        var switches = ProcessStats.ContextSwitches(running.Pid) - switchesBefore;
        latencies.Sort();
        return new OneAtATime(Percentile(latencies, 0.5), Percentile(latencies, 0.99), lost, cpu * 1000 / count, (double)switches / count);
    }

    /// <summary>Alice says a probe every 50 ms from now until Bob sees one; milliseconds since the process started.</summary>
    private static async Task<double> FirstRelayedAsync(Running running, XmppPerson alice, XmppPerson bob, string tag)
    {
        try
        {
            return await Probes.UntilOneCrossesAsync(running.Since, alice, bob, $"probe {tag} ", "the first probe of " + tag);
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine($"{tag}: nothing relayed within 60 s; the process's last output:\n{running.Tail}");
            throw;
        }
    }

    /// <summary>Bob's messages starting with <paramref name="prefix"/> once <paramref name="count"/> arrived, or once none arrived for <paramref name="stall"/>.</summary>
    private static async Task<List<ReceivedMessage>> WaitOrStallAsync(XmppPerson bob, string prefix, int count, TimeSpan stall)
    {
        var seen = 0;
        var lastProgress = Stopwatch.StartNew();
        while (true)
        {
            var matching = bob.Messages.Where(m => m.Body.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            if (matching.Count >= count || (matching.Count == seen && lastProgress.Elapsed > stall))
            {
                return matching;
            }

            if (matching.Count != seen)
            {
                seen = matching.Count;
                lastProgress.Restart();
            }

            await Task.Delay(25);
        }
    }

    private static void Print(Build[] builds, Dictionary<string, List<PeerRound>> results, int latencyCount, int burstCount, int rounds)
    {
        Console.WriteLine(FormattableString.Invariant(
            $"XMPP ⇄ XMPP, the bridge and matterbridge in turn on the same two private Prosody servers, rooms and slixmpp people (loopback; bridge limits off); {rounds} round(s) per build{(rounds > 1 ? ", median (min-max)" : "")}"));
        Console.WriteLine($"{"",-44}{string.Concat(builds.Select(b => $"{b.Name,-22}"))}");
        Row("start -> first relayed message, ms", r => r.FirstRelayedMs, "F0");
        Row($"latency median, ms ({latencyCount} one at a time, cold)", r => r.Cold.MedianMs, "F2");
        Row("latency p99, ms (cold)", r => r.Cold.P99Ms, "F2");
        Row("  of those lost (10 s without arrival)", r => r.Cold.Lost, "F0");
        Row($"latency median, ms ({latencyCount} one at a time, warm)", r => r.Warm.MedianMs, "F2");
        Row("latency p99, ms (warm)", r => r.Warm.P99Ms, "F2");
        Row("  of those lost (10 s without arrival)", r => r.Warm.Lost, "F0");
        Row($"burst of {burstCount} sent at once: msg/s arrived", r => r.BurstRate, "F0");
        Row("  lost", r => r.BurstLost, "F0");
        Row("  duplicates", r => r.BurstDuplicates, "F0");
        Console.WriteLine($"{"  in order",-44}{string.Concat(builds.Select(b => $"{InOrder(b),-22}"))}");
        Row("CPU s per 1,000 messages (the burst)", r => r.CpuPerThousand, "F3");
        Row("CPU s per 1,000 messages (one at a time, cold)", r => r.Cold.CpuPerThousand, "F3");
        Row("CPU s per 1,000 messages (one at a time, warm)", r => r.Warm.CpuPerThousand, "F3");
        Row("context switches per message (warm)", r => r.Warm.SwitchesPerMessage, "F1");
        Row($"CPU ms per minute idle ({IdleWindow.TotalSeconds:F0} s at the end)", r => r.IdleCpuMsPerMinute, "F0");
        Row("RSS idle, MiB", r => r.IdleMiB, "F0");
        Row("RSS after the burst, MiB", r => r.LoadedMiB, "F0");
        foreach (var build in builds)
        {
            Console.WriteLine($"{build.Name} = {build.Path}");
        }

        void Row(string label, Func<PeerRound, double> value, string format) =>
            Console.WriteLine($"{label,-44}{string.Concat(builds.Select(b => $"{Cell(b, value, format),-22}"))}");

        string Cell(Build build, Func<PeerRound, double> value, string format)
        {
            var values = results[build.Name].Select(value).ToList();
            return values.Count == 1 ? values[0].ToString(format, CultureInfo.InvariantCulture) : StartBench.Stat(values, format);
        }

        string InOrder(Build build) => string.Join(",", results[build.Name].Select(r => r.BurstInOrder ? "yes" : "no"));
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>
    /// One gateway over two XMPP client accounts, one per server, in the room Alice and Bob are in. No TLS (the test
    /// servers have no certificates; loopback only); an empty nick format so the body arrives as sent, as the bridge's
    /// puppets carry it.
    /// </summary>
    private static string PeerToml(ProsodyServer a, ProsodyServer b) =>
        $"""
        [general]
        RemoteNickFormat=""

        {Account("a", a)}
        {Account("b", b)}
        [[gateway]]
        name="bench"
        enable=true

        [[gateway.inout]]
        account="xmpp.a"
        channel="benchmb"

        [[gateway.inout]]
        account="xmpp.b"
        channel="benchmb"
        """;

    private static string Account(string name, ProsodyServer server) =>
        FormattableString.Invariant($"""
        [xmpp.{name}]
        Server="127.0.0.1:{server.C2sPort}"
        Jid="{PeerUser}@{server.Domain}"
        Password="{PeerPassword}"
        Muc="{server.MucDomain}"
        Nick="{PeerUser}"
        NoTLS=true
        RemoteNickFormat=""

        """);

    private static ProcessStartInfo PeerInfo(string peer, string config)
    {
        var info = new ProcessStartInfo(peer)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(config)!,
        };
        info.ArgumentList.Add("-conf");
        info.ArgumentList.Add(config);
        return info;
    }

    /// <summary>A build, how to start it, and the people in its rooms (Alice and Bob for the bridge, Carol and Dave for matterbridge).</summary>
    private sealed record Build(string Name, string Path, Func<Running> Start, XmppPerson Sender, XmppPerson Receiver);

    /// <summary>A build's process, its start time, and the last lines it wrote (shown when nothing crosses).</summary>
    private sealed class Running : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _tail = new();

        private Running(Process process, Stopwatch since)
        {
            (_process, Since) = (process, since);
        }

        public int Pid => _process.Id;
        public Stopwatch Since { get; }
        public string Tail => string.Join('\n', _tail);

        private static bool Trace => Environment.GetEnvironmentVariable("BRIDGE_BENCH_TRACE") is "1" or "debug";

        public static Running Of(ProcessStartInfo info)
        {
            var since = Stopwatch.StartNew();
            var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + info.FileName);
            var running = new Running(process, since);
            process.OutputDataReceived += (_, e) => running.Keep(e.Data);
            process.ErrorDataReceived += (_, e) => running.Keep(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return running;
        }

        public Task StopAsync() => _process.HasExited ? Task.CompletedTask : DaemonProcess.StopAsync(_process);

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                try
                {
                    await DaemonProcess.StopAsync(_process);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill();
                    await _process.WaitForExitAsync();
                }
            }

            _process.Dispose();
        }

        private void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }

            if (Trace)
            {
                // BRIDGE_BENCH_TRACE=1 (or debug), as in the other benches: every line with the time since the start.
                Console.Error.WriteLine(FormattableString.Invariant($"[{Since.Elapsed.TotalMilliseconds,7:F0} ms] {line}"));
            }

            _tail.Enqueue(line);
            while (_tail.Count > 40)
            {
                _tail.TryDequeue(out _);
            }
        }
    }

    private sealed record PeerRound(double FirstRelayedMs, OneAtATime Cold, OneAtATime Warm,
        double BurstRate, int BurstLost, int BurstDuplicates, bool BurstInOrder,
        double CpuPerThousand, double IdleCpuMsPerMinute, double IdleMiB, double LoadedMiB);

    /// <summary>A one-at-a-time phase: latency median and p99 (ms), messages given up on, CPU seconds per 1,000, context switches per message.</summary>
    private sealed record OneAtATime(double MedianMs, double P99Ms, int Lost, double CpuPerThousand, double SwitchesPerMessage);
}
