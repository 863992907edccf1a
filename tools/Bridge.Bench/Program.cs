using System.Diagnostics;
using System.Globalization;
using Bridge.Bench;
using Bridge.Testing;

// Usage: Bridge.Bench [--latency N] [--burst N]
//        Bridge.Bench --flood N [--quiet N] [--sender-rate R] [--link-rate R] [--vs DAEMON[,DAEMON...]]   (see FloodBench.cs)
//        Bridge.Bench --translate N   (added latency per engine, see TranslateBench.cs)
//        Bridge.Bench --memory N [--rounds R] [--vs DAEMON[,DAEMON...]]   (RSS idle / after a burst of N / idle again, CPU, see MemoryBench.cs)
//        Bridge.Bench --soak MINUTES [--rate R] [--vs DAEMON[,DAEMON...]]   (steady R msg/s each way: RSS, heap, CPU every minute, see SoakBench.cs)
//        Bridge.Bench --pairs N [--burst M] [--rounds R] [--vs DAEMON[,DAEMON...]]   (every directed pair of XMPP, Matrix and Mattermost, CPU per source, the daemon's stages, see PairsBench.cs)
//        Bridge.Bench --start N [--vs DAEMON[,DAEMON...]]   (start to ready / first relayed message, builds in turn, see StartBench.cs)
//        Bridge.Bench --scale LINKS [--puppets N] [--vs DAEMON[,DAEMON...]]   (LINKS links x 3 networks, N people, see ScaleBench.cs)
//        Bridge.Bench --peer MATTERBRIDGE [--latency N] [--burst N] [--rounds R] [--vs DAEMON[,DAEMON...]]   (the bridge, other builds and matterbridge in turn, one table, see PeerBench.cs)
// XMPP ⇄ XMPP through the daemon between two private Prosody servers, real slixmpp people on each side,
// measured the way shared/notes/peers-measured.md measured matterbridge and Bifröst.
if (Array.IndexOf(args, "--translate") >= 0)
{
    return await TranslateBench.RunAsync(Arg("--translate", 50));
}

if (Array.IndexOf(args, "--pairs") >= 0)
{
    return await PairsBench.RunAsync(Arg("--pairs", 100), Arg("--burst", 0), Arg("--rounds", 1), ArgText("--vs"));
}

if (Array.IndexOf(args, "--start") >= 0)
{
    return await StartBench.RunAsync(Arg("--start", 10), ArgText("--vs"));
}

if (Array.IndexOf(args, "--scale") >= 0)
{
    return await ScaleBench.RunAsync(Arg("--scale", 1000), Arg("--puppets", 0), ArgText("--vs"), Arg("--mm-delay", 0));
}

if (Array.IndexOf(args, "--soak") >= 0)
{
    return await SoakBench.RunAsync(Arg("--soak", 20), Arg("--rate", 20), ArgText("--vs"));
}

if (Array.IndexOf(args, "--peer") >= 0)
{
    return await PeerBench.RunAsync(ArgText("--peer") ?? "", Arg("--latency", 200), Arg("--burst", 2000), Arg("--rounds", 1), ArgText("--vs"));
}

if (Array.IndexOf(args, "--memory") >= 0)
{
    return await MemoryBench.RunAsync(Arg("--memory", 2000), Arg("--rounds", 2), ArgText("--vs"));
}

if (Array.IndexOf(args, "--flood") >= 0)
{
    return await FloodBench.RunAsync(Arg("--flood", 10_000), Arg("--quiet", 20), ArgText("--sender-rate"), ArgText("--link-rate"), ArgText("--vs"));
}

var latencyCount = Arg("--latency", 300);
var burstCount = Arg("--burst", 2000);

await using var world = await TwoProsodyWorld.StartAsync();
var config = world.ConfigPath;
var (alice, bob) = (world.Alice, world.Bob);
var botSeen = BotPresence.Count(alice, bob);
await using var bridge = await BridgeProcess.StartAsync(config);

// "Bridge started" comes before the bot's joins, and a fresh store carries nothing said before them: wait for both.
await BotPresence.WaitForJoinAsync(alice, bob, botSeen);

// Warm-up: puppets created and joined, JIT done.
for (var i = 0; i < 20; i++)
{
    await alice.SayAsync($"warm {i}");
}

await bob.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith("warm ", StringComparison.Ordinal)) >= 20, TimeSpan.FromSeconds(60), "warm-up");
await Task.Delay(1000);
var idleRss = ProcessStats.RssMegabytes(bridge.Pid);

// Baseline: the same people and server without the bridge (a message back to its own sender through one MUC),
// so the harness's own cost can be told apart from the bridge's.
var baseline = new List<double>();
for (var i = 0; i < Math.Min(latencyCount, 100); i++)
{
    var body = $"self {i}";
    var sent = DateTimeOffset.UtcNow;
    await alice.SayAsync(body);
    var got = await alice.WaitForAsync(ms => ms.Any(m => m.Body == body), TimeSpan.FromSeconds(30), body);
    baseline.Add((got.First(m => m.Body == body).ReceivedAt - sent).TotalMilliseconds);
}

// Latency: one message at a time, the next after the previous arrived.
var latencies = new List<double>();
for (var i = 0; i < latencyCount; i++)
{
    var body = $"lat {i}";
    var sent = DateTimeOffset.UtcNow;
    await alice.SayAsync(body);
    var got = await bob.WaitForAsync(ms => ms.Any(m => m.Body == body), TimeSpan.FromSeconds(30), body);
    latencies.Add((got.First(m => m.Body == body).ReceivedAt - sent).TotalMilliseconds);
}

// Throughput and CPU: a burst as fast as the sender can go.
var cpuBefore = ProcessStats.CpuTime(bridge.Pid);
var clock = Stopwatch.StartNew();
for (var i = 0; i < burstCount; i++)
{
    await alice.SayAsync($"burst {i}");
}

var burst = await bob.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith("burst ", StringComparison.Ordinal)) >= burstCount, TimeSpan.FromMinutes(5), "the burst");
clock.Stop();
await Task.Delay(500);
var cpu = ProcessStats.CpuTime(bridge.Pid) - cpuBefore;
var loadedRss = ProcessStats.RssMegabytes(bridge.Pid);
var received = bob.Messages.Where(m => m.Body.StartsWith("burst ", StringComparison.Ordinal)).Select(m => m.Body).ToList();
var inOrder = received.SequenceEqual(Enumerable.Range(0, burstCount).Select(i => $"burst {i}"));

latencies.Sort();
baseline.Sort();
double Pct(double p) => Percentile(latencies, p);
Console.WriteLine("XMPP ⇄ XMPP through the bridge (two private Prosody servers, slixmpp people, loopback; limits: off)");
Console.WriteLine(FormattableString.Invariant($"latency, {latencyCount} messages one at a time: median {Pct(0.5):F2} ms, p99 {Pct(0.99):F2} ms, max {latencies[^1]:F2} ms"));
Console.WriteLine(FormattableString.Invariant($"baseline without the bridge (person -> own room -> same person): median {Percentile(baseline, 0.5):F2} ms, p99 {Percentile(baseline, 0.99):F2} ms"));
Console.WriteLine(FormattableString.Invariant($"throughput, burst of {burstCount}: {burstCount / clock.Elapsed.TotalSeconds:F0} msg/s end to end ({clock.Elapsed.TotalSeconds:F2} s)"));
Console.WriteLine(FormattableString.Invariant($"bridge CPU per 1,000 messages: {cpu.TotalSeconds * 1000 / burstCount:F3} s"));
Console.WriteLine(FormattableString.Invariant($"bridge memory: idle {idleRss:F0} MB, after load {loadedRss:F0} MB"));
Console.WriteLine($"losses: {burstCount - received.Distinct().Count()}, duplicates: {received.Count - received.Distinct().Count()}, in order: {inOrder}");
return 0;

static double Percentile(List<double> sorted, double p) => sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(p * sorted.Count) - 1)];

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

string? ArgText(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
