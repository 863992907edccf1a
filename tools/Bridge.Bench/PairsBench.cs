using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Bridge.Testing;
using Sandbox.Matrix;
using Sandbox.Mattermost;

namespace Bridge.Bench;

/// <summary>
/// <c>--pairs N</c>: one link over real Prosody (Alice, slixmpp), the sandbox homeserver (Bob) and the sandbox Mattermost
/// (Carol). Each person in turn sends N messages one at a time; each is timed to its arrival on both other networks
/// (XMPP: when Alice's client got it; Matrix and Mattermost: when this process, which runs both sandboxes, first saw it in
/// the room). Then the daemon's own
/// <c>bridge.stage.duration</c> histograms, read from <c>/metrics</c> before and after, say where the time went.
/// </summary>
internal static partial class PairsBench
{
    private const string AsToken = "bench-as-token";
    private const string HsToken = "bench-hs-token";

    public static async Task<int> RunAsync(int perSource)
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
            .Raw($"admin:\n  listen: {admin}\n")
            .WriteAsync(config);

        await using var bridge = await BridgeProcess.StartAsync(config);
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
        for (var i = 0; i < perSource; i++)
        {
            foreach (var source in World.Networks)
            {
                foreach (var (to, ms) in await world.SendAndTimeAsync(source, $"pair-{source}-{i}"))
                {
                    samples[(source, to)].Add(ms);
                }
            }
        }

        var after = Stages.Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        Console.WriteLine($"PAIRS one message at a time, {perSource} from each network; real Prosody, sandbox homeserver and sandbox Mattermost in this process; {Environment.ProcessorCount} cores");
        Console.WriteLine("pair             |   n | p50 ms | p90 ms | p99 ms");
        foreach (var ((from, to), list) in samples)
        {
            Console.WriteLine($"{from + "->" + to,-16} | {list.Count,3} | {Pct(list, 50),6:F1} | {Pct(list, 90),6:F1} | {Pct(list, 99),6:F1}");
        }

        Console.WriteLine();
        Console.WriteLine("STAGES inside the daemon over the same messages (bridge.stage.duration from /metrics; route and commit by source network, the rest by destination)");
        Console.WriteLine("stage    | network |      n | mean ms | p50 <= ms | p99 <= ms");
        foreach (var line in Stages.Difference(before, after))
        {
            Console.WriteLine(line);
        }

        return 0;
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

        /// <summary>Sends <paramref name="text"/> from <paramref name="source"/> and waits for it on both others; the milliseconds to each.</summary>
        public async Task<IReadOnlyList<(string To, double Ms)>> SendAndTimeAsync(string source, string text)
        {
            var sent = DateTimeOffset.UtcNow;
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
