using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Bridge.Testing;
using Sandbox.Matrix;
using Sandbox.Mattermost;

namespace Bridge.Bench;

/// <summary>
/// <c>--scale LINKS [--puppets N] [--vs DAEMON]</c>: the real daemon with LINKS links, each joining one new room on each
/// of real Prosody, the sandbox homeserver and the sandbox Mattermost (both in this process), then one message on every
/// link from N distinct Matrix people (N puppets on XMPP and on Mattermost). Each build runs in turn on its own fresh
/// rooms, channels, people and store, so pacing (or its absence) shows side by side. Printed, never asserted.
/// </summary>
internal static partial class ScaleBench
{
    private const string AsToken = "scale-as-token";
    private const string HsToken = "scale-hs-token";

    /// <summary>Prosody keeps this many rooms live; above LINKS, so no room of the run is swapped to disk and back.</summary>
    private static int RoomCacheSize(int links) => Math.Max(100, (links * 2) + 100);

    /// <param name="mattermostDelay">How long the sandbox Mattermost takes to answer each request (<c>--mm-delay MS</c>), as a real server over a network does.</param>
    public static async Task<int> RunAsync(int links, int puppets, string? vsDaemon, int mattermostDelay = 0)
    {
        puppets = Math.Max(puppets, links);
        var daemons = TwoProsodyWorld.Daemons(vsDaemon);
        using var dir = new TempDirectory();
        await using var xmpp = await ProsodyServer.StartForRoomsAsync("a.localhost", RoomCacheSize(links * daemons.Count));
        var results = new List<ScaleRun>();
        foreach (var (name, path) in daemons)
        {
            // A homeserver and a Mattermost of its own for each build: each build has a fresh store, so its first
            // idempotency keys are the previous build's, and a server that saw them moments ago answers with the old post.
            await using var matrix = new MatrixSandbox(new MatrixSandboxOptions { TransactionRetryMin = TimeSpan.FromMilliseconds(100), TransactionRetryMax = TimeSpan.FromSeconds(1) });
            await matrix.StartAsync();
            var listen = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
            matrix.AddBridgeAppservice(listen, AsToken, HsToken);
            await using var mm = new MattermostSandbox(new SandboxSettings
            {
                EnableUserAccessTokens = true,
                EnableBotAccountCreation = true,
                ResponseDelay = TimeSpan.FromMilliseconds(mattermostDelay),
            });
            await mm.StartAsync();
            var seed = mm.Seed();
            results.Add(await OneRunAsync(name, path, links, puppets, dir, xmpp, matrix, listen, mm, seed));
        }

        var load = File.ReadAllText("/proc/loadavg").Split(' ');
        Console.WriteLine(FormattableString.Invariant(
            $"SCALE {links} links x 3 networks (real Prosody 0.12, muc_room_cache_size {RoomCacheSize(links * daemons.Count)}; sandbox homeserver and sandbox Mattermost in the bench process{(mattermostDelay > 0 ? $", Mattermost answering each request after {mattermostDelay} ms" : "")}), one message on every link from {puppets} distinct Matrix people (delivery waited for at most {DeliveryLimit(puppets).TotalSeconds:F0} s); {Environment.ProcessorCount} cores, load average {load[0]} {load[1]} {load[2]} at the end"));
        Console.WriteLine("build | start->ready s | joined xmpp/matrix/mm | warnings | timeouts | RSS after join MiB | delivered mm/xmpp | sends->all delivered s | RSS after messages MiB");
        foreach (var r in results)
        {
            Console.WriteLine(FormattableString.Invariant(
                $"{r.Build,-5} | {r.ReadySeconds,14:F1} | {r.XmppJoined,4}/{r.MatrixJoined,4}/{r.MattermostJoined,4}        | {r.Warnings,8} | {r.Timeouts,8} | {r.RssAfterJoin,18:F0} | {r.DeliveredMattermost,5}/{r.DeliveredXmpp,5}       | {r.DeliverySeconds,31:F1} | {r.RssAfterMessages,21:F0}"));
        }

        PrintFairness(FormattableString.Invariant(
            $"FAIRNESS link 1: one message every {QuietEvery.TotalMilliseconds:F0} ms from one person, {QuietMessages} alone, then {QuietMessages} while link 0 gets {FloodMessages} from another person sent at once; Matrix -> Mattermost, ms from send to seen"),
            results.Select(r => (r.Build, r.Fairness)));
        PrintFairness(FormattableString.Invariant(
            $"FAIRNESS FROM MATTERMOST link 1: one post every {QuietEvery.TotalMilliseconds:F0} ms from one Mattermost person, {QuietMessages} alone, then {QuietMessages} while another posts {FloodMessages} at once on link 0; Mattermost -> Matrix, ms from post to seen"),
            results.Select(r => (r.Build, r.MattermostFairness)));

        Console.WriteLine();
        Console.WriteLine(FormattableString.Invariant(
            $"MATTERMOST RECONNECT link 2: the sandbox drops the bridge's WebSocket (no resume: a new connection, so every one of the {links} channels is caught up over REST); meanwhile one Mattermost person says one message every {QuietEvery.TotalMilliseconds:F0} ms ({QuietMessages}) from the drop on; Mattermost -> Matrix, ms from post to seen"));
        Console.WriteLine("build | p50 / p99 ms | max ms");
        foreach (var r in results)
        {
            Console.WriteLine(FormattableString.Invariant(
                $"{r.Build,-5} | {Percentiles(r.Reconnect),12} | {(r.Reconnect.Count == 0 ? double.NaN : r.Reconnect[^1]),6:F0}"));
        }

        PrintStages("the flood's first send", results.Select(r => (r.Build, r.Fairness)));
        PrintStages("the Mattermost flood's first post", results.Select(r => (r.Build, r.MattermostFairness)));

        foreach (var (name, path) in daemons)
        {
            Console.WriteLine($"{name} = {path}");
        }

        return 0;
    }

    /// <summary>
    /// A Mattermost reconnect at scale: the bridge's WebSocket is dropped without resume, so the new connection
    /// catches up every linked channel over REST, while one person keeps talking in link 2's channel. Each message is
    /// timed from its post to when this process first sees it in link 2's Matrix room (looked at every few ms).
    /// </summary>
    private static async Task<List<double>> ReconnectAsync(string tag, MatrixSandbox matrix, string[] rooms, MattermostSandbox mm, SandboxSeed seed, SandboxChannel[] channels)
    {
        var talker = mm.CreateUser($"talker-{tag}");
        mm.AddToTeam(seed.Team.Id, talker.Id);
        mm.AddToChannel(channels[2].Id, talker.Id);
        await Task.Delay(TimeSpan.FromSeconds(2)); // the membership event reaches the bridge before the drop
        var prefix = $"reconnect-{tag}";
        mm.DropWebSockets(keepResumeQueue: false);
        return await TimedDelaysAsync(prefix,
            i => mm.Post(talker.Id, channels[2].Id, $"{prefix}-{i}"),
            () => matrix.GetMessages(rooms[2]).Select(ev => ev["content"]?["body"]?.GetValue<string>()));
    }

    private static async Task<ScaleRun> OneRunAsync(string build, string daemon, int links, int puppets, TempDirectory dir, ProsodyServer xmpp,
        MatrixSandbox matrix, Uri listen, MattermostSandbox mm, SandboxSeed seed)
    {
        // Fresh rooms, channels and people for each build: every XMPP room is new (created and unlocked by the bot).
        var tag = build.ToLowerInvariant();
        var creator = matrix.CreateUser($"creator-{tag}");
        var matrixRooms = new string[links];
        var channels = new SandboxChannel[links];
        var admin = $"http://127.0.0.1:{FreePorts.Next()}";
        var builder = new BridgeConfigBuilder(dir.File($"bridge-{tag}.db"))
            .Xmpp("xmpp", xmpp, "org-xmpp")
            .Network("matrix", "matrix", "org-matrix", new Dictionary<string, string>
            {
                ["homeserverUrl"] = matrix.BaseUrl.ToString(), ["serverName"] = matrix.ServerName, ["listen"] = listen.ToString().TrimEnd('/'),
                ["asToken"] = AsToken, ["hsToken"] = HsToken,
            })
            .Network("mm", "mattermost", "org-mm", mm.BridgeSettings(seed));
        for (var i = 0; i < links; i++)
        {
            matrixRooms[i] = matrix.CreateRoom(creator.UserId, isPublic: true, aliasLocalpart: $"scale-{tag}-{i}");
            channels[i] = mm.CreateChannel(seed.Team.Id, $"scale-{tag}-{i}", $"scale {tag} {i}");
            builder.Link($"l{i}", ("xmpp", xmpp.Room($"scale-{tag}-{i}")), ("matrix", $"#scale-{tag}-{i}:{matrix.ServerName}"), ("mm", $"{seed.Team.Name}/{channels[i].Name}"));
        }

        var config = await builder
            .Raw($"admin:\n  listen: {admin}\n")
            // Information from the XMPP connector: its joins are counted. BRIDGE_BENCH_TRACE=1: every Information line.
            .Raw($"logging:\n  LogLevel:\n    Default: {(Environment.GetEnvironmentVariable("BRIDGE_BENCH_TRACE") == "1" ? "Information" : "Warning")}\n    Bridge.Xmpp: Information{MatrixTrace()}")
            .Raw("limits:\n  senderPerSecond: 0\n  linkPerSecond: 0")
            .WriteAsync(dir.File($"bridge-{tag}.yaml"));

        // The people: each joins the room of its link; one message each, spread over the links.
        var people = new List<(string UserId, int Link)>(puppets);
        for (var j = 0; j < puppets; j++)
        {
            var person = matrix.CreateUser($"p-{tag}-{j}");
            matrix.Join(matrixRooms[j % links], person.UserId);
            people.Add((person.UserId, j % links));
        }

        Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {build}: {links} rooms, channels and {puppets} people made; starting {daemon}");
        var log = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        // The daemon's log as it comes, in the folder BRIDGE_BENCH_KEEP_LOG names (else the run's own), to look into a slow run.
        var logFile = Path.Combine(Environment.GetEnvironmentVariable("BRIDGE_BENCH_KEEP_LOG") is { Length: > 0 } keep ? keep : dir.Path, $"scale-daemon-{tag}.log");
        using var process = Start(daemon, config, log, logFile);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(admin), Timeout = TimeSpan.FromSeconds(5) };
            var readySeconds = await WaitReadyAsync(http, clock, TimeSpan.FromMinutes(10));
            Console.Error.WriteLine(FormattableString.Invariant($"[{DateTime.UtcNow:HH:mm:ss}] {build}: ready after {readySeconds:F1} s"));

            // A join or archive query that times out does so within joinTimeout (10 s) of being sent: wait that long after ready.
            await Task.Delay(TimeSpan.FromSeconds(12));
            var botMatrix = $"@_bridge_bot:{matrix.ServerName}";
            var xmppJoined = log.Count(l => BotJoined().IsMatch(l) && l.Contains(" " + xmpp.ComponentDomain + " joined ", StringComparison.Ordinal));
            var matrixJoined = matrixRooms.Count(r => matrix.GetMembers(r).Contains(botMatrix));
            var mmJoined = channels.Count(c => mm.IsChannelMember(c.Id, seed.Admin.Id));
            var rssAfterJoin = ProcessStats.RssMegabytes(process.Id);

            var sends = Stopwatch.StartNew();
            for (var j = 0; j < people.Count; j++)
            {
                matrix.SendMessage(matrixRooms[people[j].Link], people[j].UserId, $"scale-{tag}-{j}-end");
            }

            var (deliveredMm, deliveredXmpp) = await WaitDeliveredAsync(tag, people.Count, mm, channels, xmpp, DeliveryLimit(people.Count));
            var deliverySeconds = sends.Elapsed.TotalSeconds;
            await Task.Delay(TimeSpan.FromSeconds(2));
            var rssAfterMessages = ProcessStats.RssMegabytes(process.Id);
            var warnings = log.Count(l => Warning().IsMatch(l));
            var timeouts = log.Count(l => Timeout().IsMatch(l));
            var fairness = await FairnessAsync(tag, matrix, matrixRooms, people, mm, channels, http);
            var mattermostFairness = await MattermostFairnessAsync(tag, matrix, matrixRooms, mm, seed, channels, http);
            var reconnect = await ReconnectAsync(tag, matrix, matrixRooms, mm, seed, channels);
            await DaemonProcess.StopAsync(process);

            return new ScaleRun(build, readySeconds, xmppJoined, matrixJoined, mmJoined, warnings, timeouts, rssAfterJoin, deliveredMm, deliveredXmpp, deliverySeconds, rssAfterMessages,
                fairness, mattermostFairness, reconnect);
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

    /// <summary>BRIDGE_BENCH_TRACE_MATRIX=1: the Matrix connector at Debug (one timestamped line per transaction stored).</summary>
    private static string MatrixTrace() =>
        Environment.GetEnvironmentVariable("BRIDGE_BENCH_TRACE_MATRIX") == "1" ? "\n    Bridge.Matrix: Debug" : "";

    private const int FloodMessages = 1000;
    private const int QuietMessages = 50;
    private static readonly TimeSpan QuietEvery = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Per-link fairness once every puppet exists: link 1's person says one message every 100 ms, alone first, then
    /// again while link 0's person floods link 0 with 1,000 messages sent at once; each quiet message is timed from its
    /// send on Matrix to when this process first sees it in link 1's Mattermost channel (looked at every few ms).
    /// </summary>
    private static Task<Fairness> FairnessAsync(string tag, MatrixSandbox matrix, string[] rooms, List<(string UserId, int Link)> people,
        MattermostSandbox mm, SandboxChannel[] channels, HttpClient admin)
    {
        var flooder = people.First(p => p.Link == 0);
        var quiet = people.First(p => p.Link == 1);
        return FloodFairnessAsync($"flood-{tag}-",
            prefix => QuietDelaysAsync(prefix + tag, matrix, rooms[1], quiet.UserId, mm, channels[1].Id),
            body => matrix.SendMessage(rooms[0], flooder.UserId, body),
            () => mm.GetPosts(channels[0].Id).Select(p => (string?)p.Message),
            admin);
    }

    /// <summary>
    /// The same from Mattermost: link 1's Mattermost person posts one message every 100 ms, alone, then while another
    /// Mattermost person posts 1,000 at once on link 0; each quiet post is timed to when this process first sees it in
    /// link 1's Matrix room.
    /// </summary>
    private static async Task<Fairness> MattermostFairnessAsync(string tag, MatrixSandbox matrix, string[] rooms, MattermostSandbox mm, SandboxSeed seed,
        SandboxChannel[] channels, HttpClient admin)
    {
        var flooder = mm.CreateUser($"mm-flooder-{tag}");
        var quiet = mm.CreateUser($"mm-quiet-{tag}");
        foreach (var (user, channel) in new[] { (flooder, channels[0]), (quiet, channels[1]) })
        {
            mm.AddToTeam(seed.Team.Id, user.Id);
            mm.AddToChannel(channel.Id, user.Id);
        }

        await Task.Delay(TimeSpan.FromSeconds(2)); // the membership events reach the bridge first
        IEnumerable<string?> Bodies(string room) => matrix.GetMessages(room).Select(ev => ev["content"]?["body"]?.GetValue<string>());
        return await FloodFairnessAsync($"mm-flood-{tag}-",
            prefix => TimedDelaysAsync($"mm-{prefix}{tag}", i => mm.Post(quiet.Id, channels[1].Id, $"mm-{prefix}{tag}-{i}"), () => Bodies(rooms[1])),
            body => mm.Post(flooder.Id, channels[0].Id, body),
            () => Bodies(rooms[0]),
            admin);
    }

    /// <summary>
    /// The quiet person's delays alone (<paramref name="quietDelays"/> with prefix "alone-"), then during a flood of
    /// <see cref="FloodMessages"/> "FLOODPREFIXi" sent at once ("flooded-"); then waits up to 5 minutes for the whole
    /// flood among <paramref name="floodBodies"/>, and reads the daemon's stages over the flood.
    /// </summary>
    private static async Task<Fairness> FloodFairnessAsync(string floodPrefix, Func<string, Task<List<double>>> quietDelays, Action<string> sendFlood,
        Func<IEnumerable<string?>> floodBodies, HttpClient admin)
    {
        int Across() => floodBodies().Count(body => body is not null && body.StartsWith(floodPrefix, StringComparison.Ordinal));
        var alone = await quietDelays("alone-");
        var before = Stages.Parse(await admin.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        var floodSent = Stopwatch.StartNew();
        for (var i = 0; i < FloodMessages; i++)
        {
            sendFlood(floodPrefix + i.ToString(CultureInfo.InvariantCulture));
        }

        var sentIn = floodSent.Elapsed.TotalSeconds;
        var flooded = await quietDelays("flooded-");
        var acrossWhenQuietDone = Across();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        var across = acrossWhenQuietDone;
        while (across < FloodMessages && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            across = Across();
        }

        var floodSeconds = floodSent.Elapsed.TotalSeconds;
        var after = Stages.Parse(await admin.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        return new Fairness(alone, flooded, sentIn, acrossWhenQuietDone, across, floodSeconds, [.. Stages.Difference(before, after)]);
    }

    private static Task<List<double>> QuietDelaysAsync(string prefix, MatrixSandbox matrix, string room, string person, MattermostSandbox mm, string channel) =>
        TimedDelaysAsync(prefix, i => matrix.SendMessage(room, person, $"{prefix}-{i}"), () => mm.GetPosts(channel).Select(post => (string?)post.Message));

    /// <summary>
    /// Sends <see cref="QuietMessages"/> messages "PREFIX-i", one every <see cref="QuietEvery"/>, and times each from its
    /// send to when this process first sees it among <paramref name="bodies"/> (looked at every few ms, for 3 minutes at
    /// most); the delays of those that arrived, in ascending order.
    /// </summary>
    private static async Task<List<double>> TimedDelaysAsync(string prefix, Action<int> send, Func<IEnumerable<string?>> bodies)
    {
        var sentAt = new DateTimeOffset[QuietMessages];
        var seenAt = new DateTimeOffset?[QuietMessages];
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var watch = Task.Run(async () =>
        {
            while (seenAt.Any(t => t is null) && !stop.IsCancellationRequested)
            {
                var now = DateTimeOffset.UtcNow;
                foreach (var body in bodies())
                {
                    if (body is not null && body.StartsWith(prefix + "-", StringComparison.Ordinal) &&
                        int.TryParse(body.AsSpan(prefix.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < QuietMessages && seenAt[i] is null)
                    {
                        seenAt[i] = now;
                    }
                }

                await Task.Delay(2);
            }
        });
        for (var i = 0; i < QuietMessages; i++)
        {
            sentAt[i] = DateTimeOffset.UtcNow;
            send(i);
            await Task.Delay(QuietEvery);
        }

        await watch;
        return [.. Enumerable.Range(0, QuietMessages).Where(i => seenAt[i] is not null).Select(i => (seenAt[i]!.Value - sentAt[i]).TotalMilliseconds).Order()];
    }

    /// <summary>One fairness table: a row per build.</summary>
    private static void PrintFairness(string title, IEnumerable<(string Build, Fairness F)> rows)
    {
        Console.WriteLine();
        Console.WriteLine(title);
        Console.WriteLine("build | quiet alone p50 / p99 ms | quiet during flood p50 / p99 ms | flood sent in s | flood across when quiet done | flood across / after s");
        foreach (var (build, f) in rows)
        {
            Console.WriteLine(FormattableString.Invariant(
                $"{build,-5} | {Percentiles(f.Alone),24} | {Percentiles(f.Flooded),31} | {f.FloodSentSeconds,15:F2} | {f.FloodAcrossWhenQuietDone,28} | {f.FloodAcross,5} / {f.FloodSeconds:F1}"));
        }
    }

    /// <summary>Each build's stage histograms over a flood, from <paramref name="from"/> until all of it was across.</summary>
    private static void PrintStages(string from, IEnumerable<(string Build, Fairness F)> rows)
    {
        foreach (var (build, f) in rows)
        {
            Console.WriteLine();
            Console.WriteLine($"STAGES {build} from {from} until all of it was across (bridge.stage.duration from /metrics; route and commit by source network, the rest by destination)");
            Console.WriteLine("stage    | network |      n | mean ms | p50 <= ms | p99 <= ms");
            foreach (var line in f.FloodStages)
            {
                Console.WriteLine(line);
            }
        }
    }

    private static string Percentiles(List<double> sorted) => sorted.Count == 0 ? "none arrived" : FormattableString.Invariant(
        $"{sorted[(int)Math.Ceiling(0.5 * sorted.Count) - 1]:F0} / {sorted[(int)Math.Ceiling(0.99 * sorted.Count) - 1]:F0} ({sorted.Count} of {QuietMessages})");

    /// <summary>How long the messages may take to arrive: 5 minutes, or 100 ms per message when there are more than 3,000.</summary>
    private static TimeSpan DeliveryLimit(int messages) => TimeSpan.FromMilliseconds(Math.Max(300_000, messages * 100));

    /// <summary>/healthz answers 200 once every connector is ready (XMPP: every room joined; Matrix: every room joined; Mattermost: every channel).</summary>
    private static async Task<double> WaitReadyAsync(HttpClient http, Stopwatch clock, TimeSpan limit)
    {
        while (clock.Elapsed < limit)
        {
            try
            {
                using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return clock.Elapsed.TotalSeconds;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }

            await Task.Delay(100);
        }

        return double.NaN;
    }

    /// <summary>
    /// Mattermost: the posts in the link channels. XMPP: the room archives Prosody wrote (mod_muc_mam, internal storage),
    /// so a message counts once the server has it, whoever reads the room.
    /// </summary>
    private static async Task<(int Mattermost, int Xmpp)> WaitDeliveredAsync(string tag, int count, MattermostSandbox mm, SandboxChannel[] channels, ProsodyServer xmpp, TimeSpan limit)
    {
        var marker = new Regex($"scale-{Regex.Escape(tag)}-([0-9]+)-end");
        var deadline = DateTime.UtcNow + limit;
        var (mmCount, xmppCount) = (0, 0);
        while (DateTime.UtcNow < deadline)
        {
            mmCount = channels.Sum(c => mm.GetPosts(c.Id).Count(p => marker.IsMatch(p.Message)));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var file in Directory.EnumerateFiles(Path.Combine(xmpp.Directory, "data"), "*", SearchOption.AllDirectories))
            {
                try
                {
                    foreach (Match m in marker.Matches(await File.ReadAllTextAsync(file)))
                    {
                        seen.Add(m.Groups[1].Value);
                    }
                }
                catch (IOException)
                {
                    // being written: read on the next pass
                }
            }

            xmppCount = seen.Count;
            Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] delivered {mmCount} to Mattermost, {xmppCount} to XMPP of {count}");
            if (mmCount >= count && xmppCount >= count)
            {
                break;
            }

            await Task.Delay(2000);
        }

        return (mmCount, xmppCount);
    }

    private static Process Start(string daemon, string config, ConcurrentQueue<string> log, string logFile)
    {
        // Flushed line by line and left open: lines may still come in after the process ended.
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!); // a BRIDGE_BENCH_KEEP_LOG folder not made yet
        var file = new StreamWriter(logFile) { AutoFlush = true };
        var fileGate = new Lock();
        var info = DaemonProcess.RunInfo(daemon, config);
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + daemon);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                log.Enqueue(line);
                lock (fileGate)
                {
                    file.WriteLine(line);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                log.Enqueue(line);
                lock (fileGate)
                {
                    file.WriteLine(line);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    [GeneratedRegex(" joined \\S+ as '")]
    private static partial Regex BotJoined();

    /// <summary>A warning or worse in the simple console format, with or without the timestamp the daemon puts first.</summary>
    [GeneratedRegex("^(\\S+ )?(warn|fail|crit): ")]
    private static partial Regex Warning();

    [GeneratedRegex("no answer|did not answer|timed out|[Tt]imeout")]
    private static partial Regex Timeout();

    private sealed record ScaleRun(string Build, double ReadySeconds, int XmppJoined, int MatrixJoined, int MattermostJoined, int Warnings, int Timeouts,
        double RssAfterJoin, int DeliveredMattermost, int DeliveredXmpp, double DeliverySeconds, double RssAfterMessages, Fairness Fairness, Fairness MattermostFairness, List<double> Reconnect);

    private sealed record Fairness(List<double> Alone, List<double> Flooded, double FloodSentSeconds, int FloodAcrossWhenQuietDone, int FloodAcross, double FloodSeconds,
        List<string> FloodStages);
}
