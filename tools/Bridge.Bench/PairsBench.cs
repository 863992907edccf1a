using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Bridge.Testing;
using Sandbox.Matrix;
using Sandbox.Mattermost;

namespace Bridge.Bench;

/// <summary>
/// <c>--pairs N [--burst M] [--rounds R] [--vs DAEMON[,...]]</c>: one link over real Prosody (Alice, slixmpp), the sandbox
/// homeserver (Bob) and the sandbox Mattermost (Carol). Each person in turn sends N messages one at a time; each is
/// timed to its arrival on both other networks (XMPP: when Alice's client got it; Matrix and Mattermost: when this
/// process, which runs both sandboxes, first saw it in the room). The daemon's CPU time (<c>/proc/PID/stat</c>) is read
/// before and after each person's N, so each source network gets its own CPU per 1,000 messages (each crossing to both
/// other networks). With <c>--burst M</c>, each person then sends M at once: the rate until all were seen on both other
/// networks, and the CPU per 1,000. Then the daemon's own <c>bridge.stage.duration</c> histograms, read from <c>/metrics</c> before and
/// after, say where the time went. With <c>--vs</c> the builds run in turn, each on fresh servers, rooms and store, the
/// order swapped every round, after one warm-up run that is not counted, and one table compares them. The daemon's write
/// calls and bytes written (<c>/proc/PID/io</c>) per message of each source follow its store commits.
/// </summary>
internal static partial class PairsBench
{
    private const string AsToken = "bench-as-token";
    private const string HsToken = "bench-hs-token";

    public static async Task<int> RunAsync(int perSource, int burst, int rounds, string? vsDaemon)
    {
        var builds = TwoProsodyWorld.Daemons(vsDaemon);
        var results = builds.ToDictionary(b => b.Name, _ => new List<RunResult>());
        // A first world warms this process up (its sandboxes and pollers share the cores with the daemon); not counted.
        Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] warm-up run, build A, not counted");
        await OneRunAsync(Math.Min(perSource, 50), Math.Min(burst, 200), builds[0].Path);
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (build, daemon) in round % 2 == 0 ? builds : builds.Reverse())
            {
                Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] round {round + 1}, build {build}");
                results[build].Add(await OneRunAsync(perSource, burst, daemon));
            }
        }

        foreach (var (build, daemon) in builds)
        {
            var last = results[build][^1];
            Console.WriteLine($"PAIRS build {build} ({daemon}), its last round: one message at a time, {perSource} from each network; real Prosody, sandbox homeserver and sandbox Mattermost in this process; limits off; {Environment.ProcessorCount} cores");
            Console.WriteLine("pair             |   n | p50 ms | p90 ms | p99 ms");
            foreach (var ((from, to), list) in last.Samples)
            {
                Console.WriteLine($"{from + "->" + to,-16} | {list.Count,3} | {Pct(list, 50),6:F1} | {Pct(list, 90),6:F1} | {Pct(list, 99),6:F1}");
            }

            Console.WriteLine();
            Console.WriteLine($"STAGES build {build} inside the daemon over the same messages (bridge.stage.duration from /metrics; route and commit by source network, the rest by destination)");
            Console.WriteLine("stage    | network |      n | mean ms | p50 <= ms | p99 <= ms");
            foreach (var line in last.Stages)
            {
                Console.WriteLine(line);
            }

            Console.WriteLine();
        }

        Console.WriteLine($"PAIRS side by side: {rounds} round(s) per build in turn, {perSource} messages one at a time from each network per round"
            + (burst > 0 ? $", then a burst of {burst} sent at once from each network (rate: the burst's count over the time from its first send until all of it was seen on both other networks)" : "")
            + $"; limits off; median (min-max) over the rounds; {Environment.ProcessorCount} cores");
        var incomplete = results.Values.SelectMany(r => r).SelectMany(r => r.Bursts.Values).Where(b => b.Seen < burst).ToList();
        if (incomplete.Count > 0)
        {
            Console.WriteLine($"NOT ALL ACROSS: {incomplete.Count} burst(s) were not all seen on both other networks within the wait (their rate counts only what arrived)");
        }

        var rows = new List<(string Label, Func<RunResult, double> Value, string Format)>();
        foreach (var source in World.Networks)
        {
            rows.Add(($"CPU s per 1,000 from {source}", r => r.CpuPerThousand[source], "F3"));
        }

        foreach (var source in World.Networks)
        {
            rows.Add(($"write calls per msg from {source}", r => r.WritesPerMessage[source].Calls, "F1"));
            rows.Add(($"KiB written per msg from {source}", r => r.WritesPerMessage[source].KiB, "F1"));
        }

        if (burst > 0)
        {
            foreach (var source in World.Networks)
            {
                rows.Add(($"burst from {source} msg/s", r => r.Bursts[source].Rate, "F0"));
                rows.Add(($"burst CPU s per 1,000 from {source}", r => r.Bursts[source].CpuPerThousand, "F3"));
            }
        }

        foreach (var pair in results[builds[0].Name][0].Samples.Keys)
        {
            rows.Add(($"{pair.From}->{pair.To} p50 ms", r => Pct(r.Samples[pair], 50), "F1"));
            rows.Add(($"{pair.From}->{pair.To} p99 ms", r => Pct(r.Samples[pair], 99), "F1"));
        }

        Console.WriteLine($"{"",-32}" + string.Concat(builds.Select(b => $" | {b.Name,-24}")));
        foreach (var (label, value, format) in rows)
        {
            Console.WriteLine($"{label,-32}" + string.Concat(builds.Select(b => $" | {StartBench.Stat(results[b.Name].Select(value), format),-24}")));
        }

        foreach (var (build, daemon) in builds)
        {
            Console.WriteLine($"{build} = {daemon}");
        }

        return 0;
    }

    /// <summary>One build's run on its own servers: latency per pair, CPU per 1,000 per source, the stage table.</summary>
    private sealed record RunResult(Dictionary<(string From, string To), List<double>> Samples, Dictionary<string, double> CpuPerThousand,
        Dictionary<string, (double KiB, double Calls)> WritesPerMessage, List<string> Stages,
        Dictionary<string, BurstResult> Bursts);

    /// <summary>A burst from one network: messages seen on both other networks, their rate, the daemon's CPU per 1,000.</summary>
    private sealed record BurstResult(int Seen, double Rate, double CpuPerThousand);

    private static async Task<RunResult> OneRunAsync(int perSource, int burst, string daemon)
    {
        using var dir = new TempDirectory();
        await using var xmpp = await ProsodyServer.StartAsync("a.localhost");
        await xmpp.RegisterAsync("alice", "alicepass");
        await using var matrix = new MatrixSandbox(new MatrixSandboxOptions { TransactionRetryMin = TimeSpan.FromMilliseconds(100), TransactionRetryMax = TimeSpan.FromSeconds(1) });
        await matrix.StartAsync();
        var bob = matrix.CreateUser("bob");
        matrix.SetDisplayName(bob.UserId, "Bob");
        var room = matrix.CreateRoom(bob.UserId, aliasLocalpart: "bench");
        var listen = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
        matrix.AddBridgeAppservice(listen, AsToken, HsToken);
        await using var mm = new MattermostSandbox(new SandboxSettings { EnableUserAccessTokens = true, EnableBotAccountCreation = true });
        await mm.StartAsync();
        var seed = mm.Seed();
        var carol = mm.CreateMember(seed, "carol");
        var admin = $"http://127.0.0.1:{FreePorts.Next()}";
        var config = dir.File("bridge.yaml");
        await new BridgeConfigBuilder(dir.File("bridge.db"))
            .Xmpp("xmpp", xmpp, "org-xmpp")
            .Network("matrix", "matrix", "org-matrix", new Dictionary<string, string>
            {
                ["homeserverUrl"] = matrix.BaseUrl.ToString(), ["serverName"] = matrix.ServerName, ["listen"] = listen.ToString().TrimEnd('/'),
                ["asToken"] = AsToken, ["hsToken"] = HsToken,
            })
            .Network("mm", "mattermost", "org-mm", mm.BridgeSettings(seed))
            .Link("bench", ("xmpp", xmpp.Room("bench")), ("matrix", $"#bench:{matrix.ServerName}"), ("mm", $"{seed.Team.Name}/{seed.Channel.Name}"))
            // Limits off, as in every throughput run here: under the defaults a burst is paced at 20/s per sender.
            .Raw($"admin:\n  listen: {admin}\nlimits:\n  senderPerSecond: 0\n  linkPerSecond: 0\n")
            .WriteAsync(config);

        await using var bridge = await BridgeProcess.StartAsync(config, daemon: daemon);
        matrix.Invite(room, bob.UserId, $"@_bridge_bot:{matrix.ServerName}");
        await matrix.WaitForJoinAsync(room, $"@_bridge_bot:{matrix.ServerName}", TimeSpan.FromSeconds(60));
        await using var alice = await XmppPerson.JoinAsync(xmpp, "alice", "alicepass", xmpp.Room("bench"), "Alice");
        var world = new World(alice, matrix, room, bob.UserId, mm, seed.Channel.Id, carol.Id);

        // Warm-up: every puppet made, joined and JIT-compiled on every path.
        for (var i = 0; i < 10; i++)
        {
            foreach (var source in World.Networks)
            {
                await world.SendAndTimeAsync(source, $"warm-{source}-{i}");
            }
        }

        using var http = new HttpClient { BaseAddress = new Uri(admin) };
        var before = Stages.Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        var samples = World.Networks.SelectMany(from => World.Networks.Where(to => to != from).Select(to => (from, to))).ToDictionary(p => p, _ => new List<double>());
        var cpu = new Dictionary<string, double>();
        var writes = new Dictionary<string, (double KiB, double Calls)>();
        foreach (var source in World.Networks)
        {
            // One source at a time, so the daemon's CPU over its messages is that source's (and its two destinations').
            var cpuBefore = ProcessStats.CpuTime(bridge.Pid);
            var writesBefore = ProcessStats.Writes(bridge.Pid);
            for (var i = 0; i < perSource; i++)
            {
                foreach (var (to, ms) in await world.SendAndTimeAsync(source, $"pair-{source}-{i}"))
                {
                    samples[(source, to)].Add(ms);
                }
            }

            cpu[source] = (ProcessStats.CpuTime(bridge.Pid) - cpuBefore).TotalSeconds * 1000 / perSource;
            var writesAfter = ProcessStats.Writes(bridge.Pid);
            writes[source] = ((writesAfter.Bytes - writesBefore.Bytes) / 1024.0 / perSource, (double)(writesAfter.Calls - writesBefore.Calls) / perSource);
        }

        var after = Stages.Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        var bursts = new Dictionary<string, BurstResult>();
        if (burst > 0)
        {
            foreach (var source in World.Networks)
            {
                var cpuBefore = ProcessStats.CpuTime(bridge.Pid);
                var (seen, took) = await world.BurstAsync(source, $"burst-{source}-", burst);
                bursts[source] = new BurstResult(seen, seen / took.TotalSeconds, (ProcessStats.CpuTime(bridge.Pid) - cpuBefore).TotalSeconds * 1000 / burst);
            }
        }

        return new RunResult(samples, cpu, writes, [.. Stages.Difference(before, after)], bursts);
    }

    private static double Pct(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    /// <summary>The three people and how each network shows what arrived.</summary>
    private sealed class World(XmppPerson alice, MatrixSandbox matrix, string room, string bob, MattermostSandbox mm, string channel, string carol)
    {
        public static readonly string[] Networks = ["xmpp", "matrix", "mm"];

        /// <summary>Alice, Bob or Carol says <paramref name="text"/>, without waiting for it anywhere.</summary>
        private async Task SendAsync(string source, string text)
        {
            switch (source)
            {
                case "xmpp":
                    await alice.SayAsync(text);
                    break;
                case "matrix":
                    matrix.SendMessage(room, bob, text);
                    break;
                default:
                    mm.Post(carol, channel, text);
                    break;
            }
        }

        /// <summary>Sends <paramref name="text"/> from <paramref name="source"/> and waits for it on both others; the milliseconds to each.</summary>
        public async Task<IReadOnlyList<(string To, double Ms)>> SendAndTimeAsync(string source, string text)
        {
            var sent = DateTimeOffset.UtcNow;
            await SendAsync(source, text);

            // Every destination is looked at in each pass, so a copy is timed when it shows, whichever shows first.
            var seen = new Dictionary<string, DateTimeOffset>();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            var destinations = Networks.Where(n => n != source).ToList();
            while (seen.Count < destinations.Count)
            {
                foreach (var to in destinations.Where(d => !seen.ContainsKey(d)))
                {
                    if (ArrivedAt(to, text) is { } at)
                    {
                        seen[to] = at;
                    }
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"'{text}' from {source} did not reach {string.Join(", ", destinations.Except(seen.Keys))} within 60 s");
                }

                await Task.Delay(1);
            }

            return [.. destinations.Select(to => (to, (seen[to] - sent).TotalMilliseconds))];
        }

        /// <summary>
        /// Sends <paramref name="count"/> messages from <paramref name="source"/> at once and waits until all are seen on
        /// both other networks (or until nothing more arrived for 30 s): how many were seen on both, and the time from the
        /// first send until the last was seen.
        /// </summary>
        public async Task<(int Seen, TimeSpan Took)> BurstAsync(string source, string prefix, int count)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                await SendAsync(source, $"{prefix}{i}");
            }

            var destinations = Networks.Where(n => n != source).ToList();
            var seen = 0;
            var lastProgress = clock.Elapsed;
            var done = clock.Elapsed;
            while (clock.Elapsed - lastProgress < TimeSpan.FromSeconds(30))
            {
                var now = destinations.Min(to => CountArrived(to, prefix));
                if (now > seen)
                {
                    seen = now;
                    lastProgress = done = clock.Elapsed;
                }

                if (seen >= count)
                {
                    break;
                }

                await Task.Delay(50); // counting reads every room's whole history: not too often, it shares the cores
            }

            return (seen, done);
        }

        private int CountArrived(string network, string prefix) => network switch
        {
            "xmpp" => alice.Messages.Count(m => m.FromNick != "Alice" && m.Body.StartsWith(prefix, StringComparison.Ordinal)),
            "matrix" => matrix.GetMessages(room).Count(e => e["sender"]!.GetValue<string>() != bob
                && (e["content"] as JsonObject)?["body"]?.GetValue<string>() is { } body && body.StartsWith(prefix, StringComparison.Ordinal)),
            _ => mm.GetPosts(channel).Count(p => p.UserId != carol && p.Message.StartsWith(prefix, StringComparison.Ordinal)),
        };

        /// <summary>
        /// XMPP: when Alice's client got it. The sandboxes: when this process first saw it in the room (looked at every
        /// millisecond), since the bridge sets the source's time on what it posts (Matrix <c>ts</c>), not the arrival's.
        /// </summary>
        private DateTimeOffset? ArrivedAt(string network, string text) => network switch
        {
            "xmpp" => alice.Messages.LastOrDefault(m => m.Body == text && m.FromNick != "Alice")?.ReceivedAt,
            "matrix" => matrix.GetMessages(room).Any(e => e["sender"]!.GetValue<string>() != bob && (e["content"] as JsonObject)?["body"]?.GetValue<string>() == text)
                ? DateTimeOffset.UtcNow : null,
            _ => mm.GetPosts(channel).Any(p => p.Message == text && p.UserId != carol) ? DateTimeOffset.UtcNow : null,
        };
    }
}
