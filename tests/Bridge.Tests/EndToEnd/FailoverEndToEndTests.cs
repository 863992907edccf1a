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
/// Two daemons on one real PostgreSQL, with real Prosody (Alice), the sandbox Mattermost (Carol) and the sandbox
/// homeserver (Bob) each speaking every 500 ms throughout. The active is SIGKILLed, SIGTERMed, SIGSTOPped (and SIGCONTed
/// once the standby has taken over: it must exit 3 without delivering) and the database is restarted. Per case: every
/// message arrives exactly once on each of the two other networks, and the time until a standby is active and until
/// delivery resumed from each network is printed.
/// </summary>
/// <remarks>
/// Each daemon has its own appservice listener; the homeserver pushes to an <see cref="ActiveFront"/>, the
/// health-checked address a deployment puts in front of the two (it forwards to whichever says <c>role: active</c>).
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
        await using var front = ActiveFront.Start();
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { MatrixPushUrl = front.Url }, b => b.Raw($"admin:\n  listen: {adminA}"));
        var listenA = net.MatrixListen!;
        var listenB = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
        front.Backends = [(new Uri(adminA), listenA.Port), (new Uri(adminB), listenB.Port)];

        // Same configuration for both, on PostgreSQL with the default lease timings (heartbeat 2 s, lease 10 s); only
        // the admin API's and the appservice listener's ports differ.
        var connection = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { SearchPath = schema }.ConnectionString;
        var yaml = Regex.Replace(await File.ReadAllTextAsync(net.ConfigPath), @"  provider: sqlite\n  sqlite: \{[^\n]*\}\n",
            $"  provider: postgres\n  postgres: {{ connectionString: '{connection}' }}\n");
        Assert.Contains("provider: postgres", yaml, StringComparison.Ordinal);
        var configs = new Dictionary<string, string> { [adminA] = net.Dir.File("bridge-a.yaml"), [adminB] = net.Dir.File("bridge-b.yaml") };
        await File.WriteAllTextAsync(configs[adminA], yaml);
        var listenSetting = listenA.ToString().TrimEnd('/');
        Assert.Contains(listenSetting, yaml, StringComparison.Ordinal);
        await File.WriteAllTextAsync(configs[adminB], yaml.Replace(adminA, adminB, StringComparison.Ordinal)
            .Replace(listenSetting, listenB.ToString().TrimEnd('/'), StringComparison.Ordinal));

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var processes = new List<BridgeProcess>();
        try
        {
            var active = (Admin: adminA, Process: Track(processes, await BridgeProcess.StartAsync(configs[adminA], ThreeNetworks.Long)));
            var standby = (Admin: adminB, Process: Track(processes, await BridgeProcess.StartAsync(configs[adminB], ThreeNetworks.Long, readyText: "Standing by")));
            var alice = await net.AliceAsync();
            net.Hs.Invite(net.MatrixRoom, net.Bob!.UserId, ThreeNetworks.Bot);
            await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetMembers(net.MatrixRoom).Contains(ThreeNetworks.Bot), ThreeNetworks.Long, "the bridge bot joined the Matrix room");

            // Warm-up: every direction works before any fault (puppets exist, rooms joined).
            var warm = new CaseRun(net, alice, "warm");
            await alice.SayAsync("warm-x-0");
            net.CarolSays("warm-t-0");
            net.BobSays("warm-m-0");
            await ThreeNetworks.WaitUntilAsync(() => warm.Copies("warm-x-0") == (0, 1, 1) && warm.Copies("warm-t-0") == (1, 0, 1)
                && warm.Copies("warm-m-0") == (1, 1, 0), ThreeNetworks.Long, "warm-up crossed");

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
                    run.ResumedAfter(),
                    oldExit ?? (oldActive.Process.HasExited ? oldActive.Process.ExitCode.ToString(CultureInfo.InvariantCulture) : "running")));
                Assert.True(lost == 0 && doubled == 0, $"{scenario}: {lost} lost, {doubled} duplicated. {run.Problems()}");

                if (takeover is not null)
                {
                    // systemd's Restart= brings the old one back; it stands by.
                    active = standby;
                    standby = (oldActive.Admin, Track(processes, await BridgeProcess.StartAsync(configs[oldActive.Admin], ThreeNetworks.Long, readyText: "Standing by")));
                }
            }

            // Both daemons served the homeserver's pushes through the front, each while it was the active one.
            Assert.True(front.ForwardedTo(listenA.Port) > 0 && front.ForwardedTo(listenB.Port) > 0,
                $"pushes reached A {front.ForwardedTo(listenA.Port)} and B {front.ForwardedTo(listenB.Port)} times");
            output.WriteLine("FAILOVER two daemons on one PostgreSQL (lease: heartbeat 2 s, duration 10 s), real Prosody + sandbox Mattermost + sandbox homeserver, each person 2 messages/s");
            output.WriteLine("case | sent | copies delivered | lost | duplicated | standby active after s | delivery resumed after s (from XMPP / Mattermost / Matrix) | old active's exit code");
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

    private static async Task SqlAsync(string connectionString, string sql)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// One case's traffic: Alice (XMPP, <c>-x-</c>), Carol (Mattermost, <c>-t-</c>) and Bob (Matrix, <c>-m-</c>) each speak
    /// every 500 ms; every message must arrive once on each of the two other networks. Arrivals are polled every 50 ms.
    /// </summary>
    private sealed class CaseRun(ThreeNetworks net, XmppPerson alice, string tag)
    {
        private static readonly string[] Networks = ["XMPP", "Mattermost", "Matrix"];
        private readonly ConcurrentQueue<(string Body, int From, DateTime At)> _sent = new();
        private readonly ConcurrentDictionary<(string Body, int To), DateTime> _firstSeen = new();
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
                _sent.Enqueue((x, 0, DateTime.UtcNow));
                await alice.SayAsync(x);
                var t = $"{tag}-t-{i}";
                _sent.Enqueue((t, 1, DateTime.UtcNow));
                net.CarolSays(t);
                var m = $"{tag}-m-{i}";
                _sent.Enqueue((m, 2, DateTime.UtcNow));
                net.BobSays(m);
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

        /// <summary>Copies of <paramref name="body"/> the bridge made on XMPP, Mattermost and Matrix (the speaker's own not counted).</summary>
        public (int Xmpp, int Mattermost, int Matrix) Copies(string body) =>
            (alice.Messages.Count(m => m.Body == body && m.FromNick != "Alice"),
             net.MattermostPosts(body).Count(p => p.Message == body && p.UserId != net.Carol!.Id),
             net.MatrixMessages(body).Count(m => m.Body == body && m.Sender != net.Bob!.UserId));

        public bool AllArrived() => Tally().Lost == 0;

        public string Missing() => "missing: " + string.Join(", ", Problems(n => n == 0).Take(20));

        public (int Sent, int Delivered, int Lost, int Doubled) Count()
        {
            var (delivered, lost, doubled) = Tally();
            return (_sent.Count, delivered, lost, doubled);
        }

        public string Problems() => string.Join(", ", Problems(n => n != 1).Take(20));

        /// <summary>From the fault until the first message sent after it arrived, per network it was sent from.</summary>
        public string ResumedAfter() => string.Join(" / ", Enumerable.Range(0, Networks.Length).Select(from =>
        {
            var after = _sent.Where(s => s.From == from && s.At > FaultAt)
                .SelectMany(s => Enumerable.Range(0, Networks.Length).Where(to => to != from)
                    .Select(to => _firstSeen.TryGetValue((s.Body, to), out var at) ? at : (DateTime?)null))
                .OfType<DateTime>().ToList();
            return after.Count == 0 ? "-" : (after.Min() - FaultAt).TotalSeconds.ToString("F1", CultureInfo.InvariantCulture);
        }));

        private (int Delivered, int Lost, int Doubled) Tally()
        {
            int delivered = 0, lost = 0, doubled = 0;
            foreach (var s in _sent)
            {
                foreach (var n in CopiesElsewhere(s))
                {
                    delivered += n > 0 ? 1 : 0;
                    lost += n == 0 ? 1 : 0;
                    doubled += Math.Max(0, n - 1);
                }
            }

            return (delivered, lost, doubled);
        }

        private IEnumerable<string> Problems(Func<int, bool> wrong) =>
            _sent.SelectMany(s => CopiesElsewhere(s).Select((n, i) => (n, i)).Where(c => wrong(c.n))
                .Select(c => $"{s.Body}→{Networks[Destinations(s.From)[c.i]]}x{c.n}"));

        private static int[] Destinations(int from) => [.. Enumerable.Range(0, Networks.Length).Where(to => to != from)];

        private int[] CopiesElsewhere((string Body, int From, DateTime At) s)
        {
            var (x, t, m) = Copies(s.Body);
            int[] all = [x, t, m];
            return [.. Destinations(s.From).Select(to => all[to])];
        }

        private async Task PollAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var now = DateTime.UtcNow;
                foreach (var m in alice.Messages.Where(m => m.FromNick != "Alice" && m.Body.StartsWith(tag + "-", StringComparison.Ordinal)))
                {
                    _firstSeen.TryAdd((m.Body, 0), m.ReceivedAt.UtcDateTime);
                }

                foreach (var p in net.MattermostPosts(tag + "-").Where(p => p.UserId != net.Carol!.Id))
                {
                    _firstSeen.TryAdd((p.Message, 1), now);
                }

                foreach (var m in net.MatrixMessages(tag + "-").Where(m => m.Sender != net.Bob!.UserId))
                {
                    _firstSeen.TryAdd((m.Body, 2), now);
                }

                await Task.Delay(50);
            }
        }
    }
}
