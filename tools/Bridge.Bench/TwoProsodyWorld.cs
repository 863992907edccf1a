using Bridge.Testing;

namespace Bridge.Bench;

/// <summary>
/// What the side-by-side benches share: two private Prosody servers, one linked room on each, Alice and Bob as real
/// slixmpp people in them, and a daemon configuration (limits off, store outside the configuration's folder); plus the
/// builds to compare, A (this build, or BRIDGE_TEST_DAEMON) and B (<c>--vs</c>).
/// </summary>
internal sealed class TwoProsodyWorld : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly TempDirectory _dataDir;
    private readonly ProsodyServer _a;
    private readonly ProsodyServer _b;

    private TwoProsodyWorld(TempDirectory dir, TempDirectory dataDir, ProsodyServer a, ProsodyServer b, string configPath, XmppPerson alice, XmppPerson bob)
    {
        (_dir, _dataDir, _a, _b) = (dir, dataDir, a, b);
        (ConfigPath, Alice, Bob) = (configPath, alice, bob);
    }

    public string ConfigPath { get; }

    /// <summary>A store of its own for one build (a bench passes it as <c>BRIDGE_DATABASE__SQLITE__PATH</c>), next to the shared one.</summary>
    public string StorePathFor(string build) => _dataDir.File($"bridge-{build.ToLowerInvariant()}.db");
    public XmppPerson Alice { get; }
    public XmppPerson Bob { get; }

    /// <summary>The builds to run in turn: A, and B when <paramref name="vsDaemon"/> names one.</summary>
    public static IReadOnlyList<(string Name, string Path)> Daemons(string? vsDaemon)
    {
        var a = Environment.GetEnvironmentVariable("BRIDGE_TEST_DAEMON") is { Length: > 0 } other ? other : Path.Combine(AppContext.BaseDirectory, "bridge");
        // --vs takes one build or several, comma-separated (e.g. wrapper scripts setting runtime knobs): B, C, D, ...
        var others = (vsDaemon ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return [("A", a), .. others.Select((path, i) => (((char)('B' + i)).ToString(), path))];
    }

    /// <param name="extraYaml">More top-level configuration (e.g. the soak's <c>admin:</c> section for <c>/metrics</c>).</param>
    public static async Task<TwoProsodyWorld> StartAsync(string? extraYaml = null)
    {
        // The store lives outside the configuration's folder, as in a real deployment (/etc/bridge vs /var/lib/bridge):
        // the configuration file is watched for policy reloads, and every database write there would wake the watcher.
        var dir = new TempDirectory();
        var dataDir = new TempDirectory();
        var a = await ProsodyServer.StartAsync("a.localhost");
        var b = await ProsodyServer.StartAsync("b.localhost");
        await a.RegisterAsync("alice", "alicepass");
        await b.RegisterAsync("bob", "bobpass");
        var config = await new BridgeConfigBuilder(dataDir.File("bridge.db"))
            .Xmpp("org-a", a)
            .Xmpp("org-b", b)
            .Link("bench", ("org-a", a.Room("bench")), ("org-b", b.Room("bench")))
            // BRIDGE_BENCH_TRACE=1 (see DaemonProcess): every Information line, to see where the time goes.
            .Raw(Environment.GetEnvironmentVariable("BRIDGE_BENCH_TRACE") is "1" or "debug"
                ? "logging:\n  LogLevel:\n    Default: " + (Environment.GetEnvironmentVariable("BRIDGE_BENCH_TRACE") == "debug" ? "Debug" : "Information")
                : "logging:\n  LogLevel:\n    Default: Warning\n    Bridge.Core.Runtime: Information")
            // Capacity, not policy: the per-sender and per-link rates would otherwise pace a one-sender burst.
            .Raw("limits:\n  senderPerSecond: 0\n  linkPerSecond: 0")
            .Raw(extraYaml ?? "")
            .WriteAsync(dir.File("bridge.yaml"));
        var alice = await XmppPerson.JoinAsync(a, "alice", "alicepass", a.Room("bench"), "Alice");
        var bob = await XmppPerson.JoinAsync(b, "bob", "bobpass", b.Room("bench"), "Bob");
        return new TwoProsodyWorld(dir, dataDir, a, b, config, alice, bob);
    }

    public async ValueTask DisposeAsync()
    {
        await Alice.DisposeAsync();
        await Bob.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _dataDir.Dispose();
        _dir.Dispose();
    }
}
