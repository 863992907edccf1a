using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Bridge.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Two daemons on one real PostgreSQL, with real Prosody (Alice) and the sandbox Mattermost (Carol) speaking every
/// 500 ms each throughout. The active is SIGKILLed, SIGTERMed, SIGSTOPped (and SIGCONTed once the standby has taken
/// over: it must exit 3 without delivering) and the database is restarted. Per case: every message arrives exactly once
/// on the other network, and the time until a standby is active and until delivery resumed is printed.
/// </summary>
/// <remarks>
/// Matrix is left out: on one host both daemons would need the appservice listener's one port (in production each
/// host has its own and the homeserver reaches the active through a health-checked address), which would test the
/// harness rather than the lease. The takeover itself does not depend on the network kind.
/// </remarks>
[Collection(EndToEndCollection.Name)]
public sealed class FailoverEndToEndTests(ITestOutputHelper output)
{
    private const int SigStop = 19, SigCont = 18;
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan TakeoverBound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Kill_terminate_freeze_and_a_database_restart_lose_and_double_nothing()
    {
        await using var pg = await PostgresServer.StartAsync();
        var schema = "fo_" + Guid.NewGuid().ToString("N")[..12];
        await SqlAsync(pg.ConnectionString, $"CREATE SCHEMA {schema}");
        var adminA = $"http://127.0.0.1:{FreePorts.Next()}";
        var adminB = $"http://127.0.0.1:{FreePorts.Next()}";
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { Matrix = false }, b => b.Raw($"admin:\n  listen: {adminA}"));

        // Same configuration for both, on PostgreSQL with the default lease timings (heartbeat 2 s, lease 10 s); only
        // the admin API's port differs.
        var connection = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { SearchPath = schema }.ConnectionString;
        var yaml = Regex.Replace(await File.ReadAllTextAsync(net.ConfigPath), @"  provider: sqlite\n  sqlite: \{[^\n]*\}\n",
            $"  provider: postgres\n  postgres: {{ connectionString: '{connection}' }}\n");
        Assert.Contains("provider: postgres", yaml, StringComparison.Ordinal);
        var configs = new Dictionary<string, string> { [adminA] = net.Dir.File("bridge-a.yaml"), [adminB] = net.Dir.File("bridge-b.yaml") };
        await File.WriteAllTextAsync(configs[adminA], yaml);
        await File.WriteAllTextAsync(configs[adminB], yaml.Replace(adminA, adminB, StringComparison.Ordinal));

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var processes = new List<BridgeProcess>();
        try
        {
            var active = (Admin: adminA, Process: Track(processes, await BridgeProcess.StartAsync(configs[adminA], ThreeNetworks.Long)));
            var standby = (Admin: adminB, Process: Track(processes, await BridgeProcess.StartAsync(configs[adminB], ThreeNetworks.Long, readyText: "Standing by")));
            var alice = await net.AliceAsync();

            // Warm-up: both directions work before any fault (puppets exist, rooms joined).
            await alice.SayAsync("warm-x");
            net.CarolSays("warm-t");
            await ThreeNetworks.WaitUntilAsync(() => SeenOnMattermost(net, "warm-x") == 1 && SeenOnXmpp(alice, "warm-t") == 1, ThreeNetworks.Long, "warm-up crossed");

            var rows = new List<string>();
            foreach (var scenario in new[] { "SIGKILL", "SIGTERM", "SIGSTOP", "PostgreSQL restart" })
            {
                var run = new CaseRun(net, alice, scenario.Split(' ')[0].ToLowerInvariant());
                var speaking = run.SpeakAsync();
                await Task.Delay(TimeSpan.FromSeconds(3));
                var oldActive = active;
                var clock = Stopwatch.StartNew();
                run.FaultAt = DateTime.UtcNow;
                string? oldExit = null;
                TimeSpan? takeover;
                switch (scenario)
                {
                    case "SIGKILL":
                        await active.Process.KillAsync();
                        takeover = await WaitActiveAsync(http, standby.Admin, clock, TakeoverBound);
                        break;
                    case "SIGTERM":
                        var terminated = active.Process.TerminateAsync(TimeSpan.FromSeconds(40));
                        takeover = await WaitActiveAsync(http, standby.Admin, clock, TakeoverBound);
                        Assert.Equal(0, await terminated);
                        oldExit = "0";
                        break;
                    case "SIGSTOP":
                        active.Process.Signal(SigStop);
                        takeover = await WaitActiveAsync(http, standby.Admin, clock, TakeoverBound);
                        Assert.True(takeover is not null, "the standby never took over from a frozen active (it keeps its session and its advisory lock)");
                        // Let the new active deliver for a while, then wake the frozen one in the middle of the traffic.
                        await Task.Delay(TimeSpan.FromSeconds(4));
                        active.Process.Signal(SigCont);
                        await WaitExitAsync(active.Process, TimeSpan.FromSeconds(40));
                        oldExit = active.Process.ExitCode.ToString(CultureInfo.InvariantCulture);
                        Assert.Equal(3, active.Process.ExitCode);
                        Assert.Contains("Lost the leader lease", active.Process.Output, StringComparison.Ordinal);
                        break;
                    default:
                        await pg.RestartAsync();
                        // Either the active keeps the lease (it reconnects and renews within one heartbeat) or the
                        // standby takes over and the old active exits 3; both are correct, the figures say which.
                        takeover = await WaitActiveAsync(http, standby.Admin, clock, TimeSpan.FromSeconds(20));
                        if (takeover is not null)
                        {
                            await WaitExitAsync(active.Process, TimeSpan.FromSeconds(40));
                            oldExit = active.Process.ExitCode.ToString(CultureInfo.InvariantCulture);
                        }

                        break;
                }

                Assert.True(scenario.StartsWith("PostgreSQL", StringComparison.Ordinal) || takeover is not null, $"{scenario}: no takeover within {TakeoverBound}");
                // Traffic goes on well past the takeover, then everything must arrive once.
                await Task.Delay(TimeSpan.FromSeconds(8));
                await run.StopSpeakingAsync(speaking);
                await ThreeNetworks.WaitUntilAsync(run.AllArrived, TimeSpan.FromSeconds(120), $"{scenario}: every message on the other network", run.Missing);
                await Task.Delay(TimeSpan.FromSeconds(3)); // a doubled delivery would show by now
                var (sent, delivered, lost, doubled) = run.Count();
                rows.Add(string.Join(" | ", scenario, sent, delivered, lost, doubled,
                    takeover is { } t ? t.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) : "kept by the active",
                    run.ResumedAfter() is { } r ? r.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) : "-",
                    oldExit ?? (oldActive.Process.HasExited ? oldActive.Process.ExitCode.ToString(CultureInfo.InvariantCulture) : "running")));
                Assert.True(lost == 0 && doubled == 0, $"{scenario}: {lost} lost, {doubled} duplicated. {run.Problems()}");

                if (takeover is not null)
                {
                    // systemd's Restart= brings the old one back; it stands by.
                    active = standby;
                    standby = (oldActive.Admin, Track(processes, await BridgeProcess.StartAsync(configs[oldActive.Admin], ThreeNetworks.Long, readyText: "Standing by")));
                }
            }

            output.WriteLine("FAILOVER two daemons on one PostgreSQL (lease: heartbeat 2 s, duration 10 s), real Prosody + sandbox Mattermost, 2 messages/s");
            output.WriteLine("case | sent | delivered | lost | duplicated | standby active after s | delivery resumed after s | old active's exit code");
            foreach (var row in rows)
            {
                output.WriteLine(row);
            }
        }
        catch
        {
            foreach (var p in processes)
            {
                output.WriteLine($"--- daemon {p.Pid} ---\n{p.Output}");
            }

            throw;
        }
        finally
        {
            // Every daemon's log is kept next to the test binaries, to read the timings behind the figures.
            var logs = Path.Combine(AppContext.BaseDirectory, "failover-logs");
            Directory.CreateDirectory(logs);
            foreach (var p in processes)
            {
                await File.WriteAllTextAsync(Path.Combine(logs, $"daemon-{p.Pid}.log"), p.Output);
                if (!p.HasExited)
                {
                    p.Signal(SigCont);
                }

                await p.DisposeAsync();
            }
        }
    }

    private static BridgeProcess Track(List<BridgeProcess> all, BridgeProcess p)
    {
        all.Add(p);
        return p;
    }

    /// <summary>Time since <paramref name="clock"/> started until the admin API at <paramref name="admin"/> says active; null if not within <paramref name="bound"/>.</summary>
    private static async Task<TimeSpan?> WaitActiveAsync(HttpClient http, string admin, Stopwatch clock, TimeSpan bound)
    {
        while (clock.Elapsed < bound)
        {
            try
            {
                using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri($"{admin}/status")));
                if (doc.RootElement.GetProperty("instance").GetProperty("role").GetString() == "active")
                {
                    return clock.Elapsed;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
            {
                // Not answering yet (starting, or busy): ask again.
            }

            await Task.Delay(100);
        }

        return null;
    }

    private static async Task WaitExitAsync(BridgeProcess process, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!process.HasExited)
        {
            Assert.True(DateTime.UtcNow < deadline, $"daemon {process.Pid} did not exit within {timeout}");
            await Task.Delay(100);
        }
    }

    private static int SeenOnMattermost(ThreeNetworks net, string body) => net.MattermostPosts(body).Count(p => p.Message == body);

    private static int SeenOnXmpp(XmppPerson alice, string body) => alice.Messages.Count(m => m.Body == body && m.FromNick != "Alice");

    private static async Task SqlAsync(string connectionString, string sql)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>One case's traffic: Alice and Carol each speak every 500 ms; arrivals are polled every 20 ms.</summary>
    private sealed class CaseRun(ThreeNetworks net, XmppPerson alice, string tag)
    {
        private readonly ConcurrentQueue<(string Body, bool FromXmpp, DateTime At)> _sent = new();
        private readonly ConcurrentDictionary<string, DateTime> _firstSeen = new(StringComparer.Ordinal);
        private readonly CancellationTokenSource _stop = new();

        public DateTime FaultAt { get; set; } = DateTime.MaxValue;

        public async Task SpeakAsync()
        {
            var poll = Task.Run(PollAsync);
            var clock = Stopwatch.StartNew();
            var due = TimeSpan.Zero;
            for (var i = 0; !_stop.IsCancellationRequested; i++)
            {
                var x = $"{tag}-x-{i}";
                _sent.Enqueue((x, true, DateTime.UtcNow));
                await alice.SayAsync(x);
                var t = $"{tag}-t-{i}";
                _sent.Enqueue((t, false, DateTime.UtcNow));
                net.CarolSays(t);
                due += Interval;
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
            }

            await poll;
        }

        public async Task StopSpeakingAsync(Task speaking)
        {
            await _stop.CancelAsync();
            await speaking.WaitAsync(TimeSpan.FromSeconds(30));
        }

        public bool AllArrived() => _sent.All(s => Seen(s) > 0);

        public string Missing() => "missing: " + string.Join(", ", _sent.Where(s => Seen(s) == 0).Select(s => s.Body).Take(20));

        public (int Sent, int Delivered, int Lost, int Doubled) Count()
        {
            int delivered = 0, lost = 0, doubled = 0;
            foreach (var s in _sent)
            {
                var n = Seen(s);
                delivered += n > 0 ? 1 : 0;
                lost += n == 0 ? 1 : 0;
                doubled += Math.Max(0, n - 1);
            }

            return (_sent.Count, delivered, lost, doubled);
        }

        public string Problems() => string.Join(", ", _sent.Where(s => Seen(s) != 1).Select(s => $"{s.Body}x{Seen(s)}").Take(20));

        /// <summary>From the fault until the first message sent after it arrived.</summary>
        public TimeSpan? ResumedAfter()
        {
            var after = _sent.Where(s => s.At > FaultAt && _firstSeen.ContainsKey(s.Body)).Select(s => _firstSeen[s.Body]).ToList();
            return after.Count == 0 ? null : after.Min() - FaultAt;
        }

        private int Seen((string Body, bool FromXmpp, DateTime At) s) => s.FromXmpp ? SeenOnMattermost(net, s.Body) : SeenOnXmpp(alice, s.Body);

        private async Task PollAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var now = DateTime.UtcNow;
                foreach (var p in net.MattermostPosts(tag + "-x-"))
                {
                    _firstSeen.TryAdd(p.Message, now);
                }

                foreach (var m in alice.Messages.Where(m => m.FromNick != "Alice" && m.Body.StartsWith(tag + "-t-", StringComparison.Ordinal)))
                {
                    _firstSeen.TryAdd(m.Body, m.ReceivedAt.UtcDateTime);
                }

                await Task.Delay(20);
            }
        }
    }
}
