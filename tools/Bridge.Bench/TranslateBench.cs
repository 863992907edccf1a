using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Bridge.Testing;

namespace Bridge.Bench;

/// <summary>
/// <c>scripts/bench.sh --translate N</c>: the latency one message takes through the daemon from an English XMPP room to
/// a Spanish one (two private Prosody servers, slixmpp people), N messages one at a time, once per engine and once with
/// translation off, in one run; prints each engine's median and p99 and what it adds to the median with translation off.
/// The HTTP engines talk to local stand-ins that answer at once, so their figure is the bridge's own cost of an HTTP
/// engine (request, JSON, placeholder check), not a model's.
/// </summary>
internal static class TranslateBench
{
    private const string Budget = "00:00:30"; // so a slow engine is measured, not replaced by the original

    public static async Task<int> RunAsync(int count)
    {
        await using var standIn = new StandIn();
        (string Name, string Yaml)[] runs =
        [
            ("translation off", ""),
            ("apertium, long-lived pipeline (mode: process)", Engine("kind: apertium\n      mode: process")),
            ("apertium, per message (mode: per-message)", Engine("kind: apertium\n      mode: per-message")),
            ("libretranslate (local stand-in)", Engine($"kind: libretranslate\n      url: '{standIn.Url}'")),
            ("openai chat completions (local stand-in)", Engine($"kind: openai\n      url: '{standIn.Url}v1'\n      model: bench")),
        ];

        using var dir = new TempDirectory();
        using var dataDir = new TempDirectory();
        await using var a = await ProsodyServer.StartAsync("a.localhost");
        await using var b = await ProsodyServer.StartAsync("b.localhost");
        await a.RegisterAsync("alice", "alicepass");
        await b.RegisterAsync("bob", "bobpass");
        await using var alice = await XmppPerson.JoinAsync(a, "alice", "alicepass", a.Room("bench"), "Alice");
        await using var bob = await XmppPerson.JoinAsync(b, "bob", "bobpass", b.Room("bench"), "Bob");

        var results = new List<EngineRun>();
        for (var r = 0; r < runs.Length; r++)
        {
            var (name, yaml) = runs[r];
            var adminPort = FreePorts.Next();
            var config = await new BridgeConfigBuilder(dataDir.File($"bridge-{r}.db"))
                .Xmpp("org-a", a)
                .Xmpp("org-b", b)
                .Language("org-a", "en")
                .Language("org-b", "es")
                .Link("bench", ("org-a", a.Room("bench")), ("org-b", b.Room("bench")))
                .Raw("logging:\n  LogLevel:\n    Default: Warning\n    Bridge.Core.Runtime: Information\n    Bridge.Translation: Information\n    Bridge.Xmpp: Information")
                .Raw("limits:\n  senderPerSecond: 0\n  linkPerSecond: 0")
                .Raw($"admin:\n  listen: http://127.0.0.1:{adminPort}")
                .Raw(yaml)
                .WriteAsync(dir.File($"bridge-{r}.yaml"));
            await using var bridge = await BridgeProcess.StartAsync(config, TimeSpan.FromMinutes(2));
            // "Bridge started" is logged when the connectors have started, not when the bridge has joined the rooms: a
            // message said before its join is never seen (what failed the first run, at a restart, whatever the engine).
            await bridge.WaitForOutputAsync("XMPP network org-a ready", TimeSpan.FromMinutes(2));
            await bridge.WaitForOutputAsync("XMPP network org-b ready", TimeSpan.FromMinutes(2));
            var run = new EngineRun(name);
            using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}") };
            try
            {
                // Warm-up: puppets joined, JIT done, the engine's first start (a pipeline, a connection) paid. The first
                // message's latency is printed on its own: it is what the first translation after a start costs.
                for (var i = 0; i < 5; i++)
                {
                    var (took, _) = await SendAndWaitAsync(alice, bob, $"Warm up {r}.{i}, the dog is black.");
                    run.First ??= took;
                }

                var before = await EngineTimeAsync(admin);
                for (var i = 0; i < count; i++)
                {
                    // Each text different, so the cache of recent translations never answers.
                    var (took, wasTranslated) = await SendAndWaitAsync(alice, bob, $"Message {r}.{i}: the convoy leaves at noon and the dog is black.");
                    run.Latencies.Add(took);
                    run.Translated += wasTranslated ? 1 : 0;
                }

                var after = await EngineTimeAsync(admin);
                run.EngineMs = after.Count > before.Count ? (after.Sum - before.Sum) / (after.Count - before.Count) : null;
            }
            catch (TimeoutException ex)
            {
                // One engine that never delivers must not cost the figures of the others: its row says so, and the
                // daemon's log (warnings, the translation stage, the start line) goes to stderr to tell why.
                run.Failure = ex.Message;
                var log = bridge.Output.Split('\n');
                await Console.Error.WriteLineAsync($"--- {name}: {ex.Message}; the daemon's last log lines:\n" + string.Join('\n', log.TakeLast(60)));
            }

            run.Latencies.Sort();
            results.Add(run);
        }

        var off = results[0].Latencies.Count > 0 ? Percentile(results[0].Latencies, 0.5) : double.NaN;
        Console.WriteLine($"Translation: XMPP (en) -> XMPP (es) through the bridge, {count} messages one at a time per engine (two private Prosody servers, slixmpp people, loopback; limits: off; budget {Budget})");
        Console.WriteLine("HTTP engines answer from local stand-ins at once: their figure is the bridge's cost of an HTTP engine, not a model's.");
        Console.WriteLine("first ms: the first message after the daemon started (the engine's start paid); median, p99 and added (median minus translation off): the measured messages after 5 warm-up ones;");
        Console.WriteLine("engine ms: the mean time per measured message inside the engine, as the daemon measured it (bridge_translation_latency on /metrics).");
        Console.WriteLine($"{"engine",-48} {"first ms",9} {"median ms",10} {"p99 ms",10} {"added ms",10} {"engine ms",10} {"translated",11}");
        foreach (var run in results)
        {
            if (run.Failure is not null && run.Latencies.Count == 0)
            {
                Console.WriteLine($"{run.Name,-48} failed: {run.Failure}");
                continue;
            }

            var median = Percentile(run.Latencies, 0.5);
            var added = ReferenceEquals(run, results[0]) ? "-" : (median - off).ToString("F1", CultureInfo.InvariantCulture);
            Console.WriteLine(FormattableString.Invariant(
                $"{run.Name,-48} {run.First,9:F1} {median,10:F1} {Percentile(run.Latencies, 0.99),10:F1} {added,10} {(run.EngineMs is { } e ? e.ToString("F1", CultureInfo.InvariantCulture) : "-"),10} {run.Translated,5} of {count}") + (run.Failure is null ? "" : $" (then failed: {run.Failure})"));
        }

        return results.All(r => r.Failure is null) && results.Skip(1).All(r => r.Translated == count) ? 0 : 1;
    }

    private sealed class EngineRun(string name)
    {
        public string Name { get; } = name;

        public List<double> Latencies { get; } = [];

        public double? First { get; set; }

        public int Translated { get; set; }

        public double? EngineMs { get; set; }

        public string? Failure { get; set; }
    }

    private static string Engine(string settings) => $"translation:\n  enabled: true\n  defaultEngine: e\n  timeout: {Budget}\n  engines:\n    e:\n      {settings}";

    private static async Task<(double Ms, bool Translated)> SendAndWaitAsync(XmppPerson alice, XmppPerson bob, string body)
    {
        static bool Is(ReceivedMessage m, string body) => m.Body == body || m.Bodies?.Values.Contains(body) == true;
        var sent = DateTimeOffset.UtcNow;
        await alice.SayAsync(body);
        var got = (await bob.WaitForAsync(ms => ms.Any(m => Is(m, body)), TimeSpan.FromMinutes(2), body)).First(m => Is(m, body));
        return ((got.ReceivedAt - sent).TotalMilliseconds, got.Bodies is { Count: 2 });
    }

    /// <summary>The sum (ms) and count of the engine's translation times so far, from the daemon's /metrics.</summary>
    private static async Task<(double Sum, long Count)> EngineTimeAsync(HttpClient admin)
    {
        var text = await admin.GetStringAsync("/metrics");
        double Read(string suffix) => Regex.Match(text, $$"""^bridge_translation_latency\w*_{{suffix}}\{[^}]*engine="e"[^}]*\} (\S+)""", RegexOptions.Multiline) is { Success: true } m
            ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
            : 0;
        return (Read("sum"), (long)Read("count"));
    }

    private static double Percentile(List<double> sorted, double p) => sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>Answers like LibreTranslate (<c>POST /translate</c>) and chat completions (<c>POST /v1/chat/completions</c>): "ES " + the text.</summary>
    private sealed class StandIn : IAsyncDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;

        public StandIn()
        {
            Url = $"http://127.0.0.1:{FreePorts.Next()}/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public string Url { get; }

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                _ = Task.Run(() => AnswerAsync(context));
            }
        }

        private static async Task AnswerAsync(HttpListenerContext context)
        {
            try
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = JsonNode.Parse(await reader.ReadToEndAsync());
                JsonNode answer = context.Request.Url!.AbsolutePath switch
                {
                    "/translate" => new JsonObject { ["translatedText"] = "ES " + (string?)body?["q"] },
                    "/v1/chat/completions" => new JsonObject
                    {
                        ["choices"] = new JsonArray(new JsonObject { ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "ES " + (string?)body?["messages"]?[1]?["content"] } }),
                    },
                    _ => new JsonObject { ["error"] = "not found" },
                };
                var bytes = Encoding.UTF8.GetBytes(answer.ToJsonString());
                context.Response.ContentType = "application/json";
                // A length, as LibreTranslate and llama.cpp's server send: HttpListener's chunked answer ends with a
                // small last chunk that Nagle's algorithm holds until the bridge's delayed ACK (about 50 ms a request
                // measured here), which the first run took for the bridge's cost.
                context.Response.ContentLength64 = bytes.Length;
                await context.Response.OutputStream.WriteAsync(bytes);
                context.Response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException or System.Text.Json.JsonException)
            {
                context.Response.Abort();
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            _listener.Close();
            await _loop;
        }
    }
}
