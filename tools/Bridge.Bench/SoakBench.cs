using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using Bridge.Testing;

namespace Bridge.Bench;

/// <summary>
/// Memory under steady traffic: the real daemon between two private Prosody servers, Alice and Bob (slixmpp) each
/// saying R messages a second for MINUTES, one build after the other (<c>--vs DAEMON</c>) on the same servers, people
/// and store. Every minute it prints what was sent and delivered each way, what is more than 30 s late, the daemon's
/// RSS and managed heap (the runtime's own figure on the daemon's <c>/metrics</c>), and the daemon's CPU per 1,000
/// messages in that minute, and the size of the build's store (each build has a fresh SQLite store of its own: database,
/// WAL and shared-memory files); at the end, RSS and store at 10 minutes (half-way in a shorter run) against the end,
/// the store's bytes per message delivered by then, and what was lost, doubled or reordered after a drain. A wrapper
/// script as a build can set <c>BRIDGE_RETENTION__DELIVERED</c> and friends to compare retention settings. Printed, never asserted.
/// </summary>
internal static class SoakBench
{
    private static readonly TimeSpan Late = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Drain = TimeSpan.FromSeconds(90);

    public static async Task<int> RunAsync(int minutes, int rate, string? vsDaemon)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minutes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 1);
        var daemons = TwoProsodyWorld.Daemons(vsDaemon);
        var admin = $"http://127.0.0.1:{FreePorts.Next()}";
        await using var world = await TwoProsodyWorld.StartAsync($"admin:\n  listen: {admin}\n");
        using var http = new HttpClient { BaseAddress = new Uri(admin), Timeout = TimeSpan.FromSeconds(10) };
        var checkpoint = Math.Min(10, Math.Max(1, minutes / 2));

        Console.WriteLine(FormattableString.Invariant(
            $"soak, XMPP ⇄ XMPP (two private Prosody servers, slixmpp people), {rate} msg/s each way for {minutes} min per build, builds in turn"));
        var summaries = new List<string>();
        foreach (var (name, path) in daemons)
        {
            summaries.Add(await OneSoakAsync(name, path, world, http, minutes, rate, checkpoint));
        }

        Console.WriteLine();
        Console.WriteLine(FormattableString.Invariant($"build  RSS at {checkpoint} min MiB  RSS at end MiB  end / {checkpoint} min  store at {checkpoint} min / end MiB  store bytes/msg at {checkpoint} min  sent      delivered  lost  duplicated  out of order"));
        foreach (var line in summaries)
        {
            Console.WriteLine(line);
        }

        foreach (var (name, path) in daemons)
        {
            Console.WriteLine($"{name} = {path}");
        }

        return 0;
    }

    private static async Task<string> OneSoakAsync(string name, string daemon, TwoProsodyWorld world, HttpClient http, int minutes, int rate, int checkpoint)
    {
        var (alice, bob) = (world.Alice, world.Bob);
        var botSeen = BotPresence.Count(alice, bob);
        var store = world.StorePathFor(name);
        using var process = DaemonProcess.Start(daemon, world.ConfigPath, out var ready, new Dictionary<string, string> { ["BRIDGE_DATABASE__SQLITE__PATH"] = store });
        try
        {
            await ready.WaitAsync(TimeSpan.FromSeconds(60));
            await BotPresence.WaitForJoinAsync(alice, bob, botSeen);
            var warm = $"warm soak {name} ";
            for (var i = 0; i < 20; i++)
            {
                await alice.SayAsync(warm + i.ToString(CultureInfo.InvariantCulture));
                await bob.SayAsync(warm + i.ToString(CultureInfo.InvariantCulture));
            }

            await bob.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith(warm, StringComparison.Ordinal)) >= 40, TimeSpan.FromSeconds(60), "warm-up of " + name);
            await alice.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith(warm, StringComparison.Ordinal)) >= 40, TimeSpan.FromSeconds(60), "warm-up of " + name);

            // Both ways at once: Alice's messages reach Bob as a puppet's and Bob's reach Alice (who sees her own too).
            var ab = new Direction($"soak {name} ab ", alice, bob);
            var ba = new Direction($"soak {name} ba ", bob, alice);
            using var stop = new CancellationTokenSource();
            var clock = Stopwatch.StartNew();
            var senders = Task.Run(() => SendAsync(rate, clock, [ab, ba], stop.Token), CancellationToken.None);

            Console.WriteLine();
            Console.WriteLine($"build {name}");
            Console.WriteLine("min  sent     delivered  late>30s  RSS MiB  heap MiB  CPU s/1,000  store MiB");
            var cpuBefore = ProcessStats.CpuTime(process.Id);
            var deliveredBefore = 0L;
            var rssAtCheckpoint = double.NaN;
            var (storeAtCheckpoint, deliveredAtCheckpoint) = (double.NaN, 0L);
            for (var minute = 1; minute <= minutes; minute++)
            {
                var due = TimeSpan.FromMinutes(minute) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due);
                }

                var sent = ab.Sent + ba.Sent;
                var delivered = ab.Count() + ba.Count();
                var late = ab.Late(clock.Elapsed - Late) + ba.Late(clock.Elapsed - Late);
                var rss = ProcessStats.RssMegabytes(process.Id);
                var heap = await ManagedHeapMiBAsync(http);
                var cpu = ProcessStats.CpuTime(process.Id);
                var perThousand = (cpu - cpuBefore).TotalSeconds * 1000 / Math.Max(1, delivered - deliveredBefore);
                (cpuBefore, deliveredBefore) = (cpu, delivered);
                var storeBytes = StoreBytes(store);
                if (minute == checkpoint)
                {
                    rssAtCheckpoint = rss;
                    (storeAtCheckpoint, deliveredAtCheckpoint) = (storeBytes, delivered);
                }

                Console.WriteLine(FormattableString.Invariant(
                    $"{minute,3}  {sent,-8} {delivered,-10} {late,-9} {rss,-8:F0} {(heap is { } h ? h.ToString("F1", CultureInfo.InvariantCulture) : "-"),-9} {perThousand,-12:F2} {storeBytes / (1024 * 1024):F1}"));
            }

            await stop.CancelAsync();
            await senders;
            var rssAtEnd = ProcessStats.RssMegabytes(process.Id);
            var storeAtEnd = StoreBytes(store);
            var drained = Stopwatch.StartNew();
            while (drained.Elapsed < Drain && (ab.Count() < ab.Sent || ba.Count() < ba.Sent))
            {
                await Task.Delay(1000);
            }

            var (abLost, abDup, abOrder) = ab.Verdict();
            var (baLost, baDup, baOrder) = ba.Verdict();
            await DaemonProcess.StopAsync(process);
            Console.WriteLine("largest tables and indexes at the end, MiB: " + TableSizes(store));
            return FormattableString.Invariant(
                $"{name,-5}  {rssAtCheckpoint,-16:F0} {rssAtEnd,-15:F0} {rssAtEnd / rssAtCheckpoint,-12:F3} {$"{storeAtCheckpoint / (1024 * 1024):F1} / {storeAtEnd / (1024 * 1024):F1}",-25} {storeAtCheckpoint / Math.Max(1, deliveredAtCheckpoint),-25:F0} {ab.Sent + ba.Sent,-9} {ab.Count() + ba.Count(),-10} {abLost + baLost,-5} {abDup + baDup,-11} {abOrder + baOrder}");
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

    /// <summary>The largest tables and indexes of the store (sqlite3's dbstat), to see what grows; "-" without sqlite3.</summary>
    private static string TableSizes(string path)
    {
        try
        {
            var info = new ProcessStartInfo("sqlite3") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "-readonly", path, "select name, sum(pgsize) from dbstat group by name order by 2 desc limit 8" })
            {
                info.ArgumentList.Add(arg);
            }

            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return string.Join(", ", output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
            {
                var parts = line.Split('|');
                return parts.Length == 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var bytes)
                    ? FormattableString.Invariant($"{parts[0]} {bytes / (1024.0 * 1024):F1}")
                    : line;
            }));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "- (no sqlite3)";
        }
    }

    /// <summary>What the store takes on disk: the database, its WAL and its shared-memory file.</summary>
    private static double StoreBytes(string path) =>
        new[] { path, path + "-wal", path + "-shm" }.Sum(f => File.Exists(f) ? new FileInfo(f).Length : 0L);

    /// <summary>Message i of each direction leaves at i / rate seconds; a sender that falls behind catches up without a pause.</summary>
    private static async Task SendAsync(int rate, Stopwatch clock, Direction[] directions, CancellationToken cancellationToken)
    {
        for (long i = 0; !cancellationToken.IsCancellationRequested; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(due, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            foreach (var direction in directions)
            {
                await direction.SendAsync(i, clock.Elapsed);
            }
        }
    }

    /// <summary>The runtime's managed heap after the last collection, summed over generations, from the daemon's /metrics.</summary>
    private static async Task<double?> ManagedHeapMiBAsync(HttpClient http)
    {
        try
        {
            var text = await http.GetStringAsync("/metrics");
            double sum = 0;
            var found = false;
            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith("dotnet_gc_last_collection_heap_size_bytes", StringComparison.Ordinal)
                    && double.TryParse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var bytes))
                {
                    sum += bytes;
                    found = true;
                }
            }

            return found ? sum / (1024 * 1024) : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private sealed class Direction(string prefix, XmppPerson from, XmppPerson to)
    {
        private readonly List<TimeSpan> _sentAt = [];
        private readonly Lock _lock = new();

        public long Sent
        {
            get
            {
                lock (_lock)
                {
                    return _sentAt.Count;
                }
            }
        }

        public async Task SendAsync(long i, TimeSpan at)
        {
            await from.SayAsync(prefix + i.ToString(CultureInfo.InvariantCulture));
            lock (_lock)
            {
                _sentAt.Add(at);
            }
        }

        /// <summary>Distinct messages of this direction the receiver has seen.</summary>
        public long Count() => Received().Distinct().Count();

        /// <summary>Messages sent before <paramref name="before"/> that have not arrived yet.</summary>
        public long Late(TimeSpan before)
        {
            var got = Received().ToHashSet();
            lock (_lock)
            {
                var late = 0L;
                for (var i = 0; i < _sentAt.Count && _sentAt[i] < before; i++)
                {
                    late += got.Contains(i) ? 0 : 1;
                }

                return late;
            }
        }

        public (long Lost, long Duplicated, long OutOfOrder) Verdict()
        {
            var received = Received().ToList();
            var distinct = received.Distinct().Count();
            var outOfOrder = 0L;
            var highest = -1L;
            foreach (var i in received)
            {
                if (i < highest)
                {
                    outOfOrder++;
                }

                highest = Math.Max(highest, i);
            }

            return (Sent - distinct, received.Count - distinct, outOfOrder);
        }

        private IEnumerable<long> Received() => to.Messages
            .Where(m => m.Body.StartsWith(prefix, StringComparison.Ordinal))
            .Select(m => long.Parse(m.Body.AsSpan(prefix.Length), CultureInfo.InvariantCulture));
    }
}
