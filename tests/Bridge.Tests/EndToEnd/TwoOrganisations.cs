using Bridge.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Two organisations, each with its own XMPP server (Prosody by default, or any <see cref="IXmppTestServer"/>),
/// one room each, linked as "ops" through the real daemon: Alice on A, Bob on B.
/// </summary>
internal sealed class TwoOrganisations : IAsyncDisposable
{
    private readonly List<XmppPerson> _people = [];
    private readonly ITestOutputHelper? _output;

    private TwoOrganisations(IXmppTestServer a, IXmppTestServer b, TempDirectory dir, ITestOutputHelper? output, string? databasePath)
    {
        DatabasePath = databasePath ?? dir.File("bridge.db");
        A = a;
        B = b;
        Dir = dir;
        _output = output;
    }

    public IXmppTestServer A { get; }
    public IXmppTestServer B { get; }
    public TempDirectory Dir { get; }
    public string RoomA => A.Room("ops");
    public string RoomB => B.Room("ops");
    public string ConfigPath => Dir.File("bridge.yaml");
    public string DatabasePath { get; }
    public BridgeProcess? Bridge { get; private set; }

    public static Task<TwoOrganisations> StartAsync(Action<BridgeConfigBuilder>? configure = null) =>
        StartAsync(async () => await ProsodyServer.StartAsync("a.localhost"), async () => await ProsodyServer.StartAsync("b.localhost"), configure);

    /// <summary>
    /// Starts both servers at once; when <paramref name="output"/> is given, the daemon's and the servers' logs are written to it at the end.
    /// <paramref name="databasePath"/> puts the daemon's SQLite file elsewhere (a small disk) than the scratch folder.
    /// </summary>
    public static async Task<TwoOrganisations> StartAsync(Func<Task<IXmppTestServer>> startA, Func<Task<IXmppTestServer>> startB,
        Action<BridgeConfigBuilder>? configure = null, ITestOutputHelper? output = null, string? databasePath = null)
    {
        var dir = new TempDirectory();
        var aStart = startA();
        var bStart = startB();
        try
        {
            await Task.WhenAll(aStart, bStart);
        }
        catch
        {
            // Stop whichever server did start.
            foreach (var start in new[] { aStart, bStart }.Where(s => s.IsCompletedSuccessfully))
            {
                await (await start).DisposeAsync();
            }

            dir.Dispose();
            throw;
        }

        var a = await aStart;
        var b = await bStart;
        var orgs = new TwoOrganisations(a, b, dir, output, databasePath);
        await a.RegisterAsync("alice", "alicepass");
        await b.RegisterAsync("bob", "bobpass");
        var builder = new BridgeConfigBuilder(orgs.DatabasePath)
            .Xmpp("org-a", a)
            .Xmpp("org-b", b)
            .Link("ops", ("org-a", orgs.RoomA), ("org-b", orgs.RoomB));
        configure?.Invoke(builder);
        await builder.WriteAsync(orgs.ConfigPath);
        return orgs;
    }

    public async Task<BridgeProcess> StartBridgeAsync()
    {
        Bridge = await BridgeProcess.StartAsync(ConfigPath);
        return Bridge;
    }

    public async Task<XmppPerson> AliceAsync(int history = 0) => Track(await XmppPerson.JoinAsync(A, "alice", "alicepass", RoomA, "Alice", history: history));

    public async Task<XmppPerson> BobAsync(int history = 0) => Track(await XmppPerson.JoinAsync(B, "bob", "bobpass", RoomB, "Bob", history: history));

    /// <summary>The person goes offline (before their server does).</summary>
    public async Task LeaveAsync(XmppPerson person)
    {
        _people.Remove(person);
        await person.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        // Every resource is released even when another one fails to: a leaked daemon or server would outlive the test run.
        var resources = new List<IAsyncDisposable>(_people);
        if (Bridge is not null)
        {
            resources.Add(Bridge);
        }

        resources.Add(A);
        resources.Add(B);
        var failures = new List<Exception>();
        foreach (var r in resources)
        {
            try
            {
                await r.DisposeAsync();
                if (r == Bridge)
                {
                    WriteLogs();
                }
            }
            catch (Exception ex)
            {
                failures.Add(ex);
            }
        }

        Dir.Dispose();
        if (failures.Count > 0)
        {
            throw new AggregateException(failures);
        }
    }

    /// <summary>The daemon's log and the end of each server's, to read when a test fails.</summary>
    private void WriteLogs()
    {
        if (_output is null || Bridge is null)
        {
            return;
        }

        _output.WriteLine(Bridge.Output);
        foreach (var (name, server) in new[] { ("A", A), ("B", B) })
        {
            var log = server.Log;
            _output.WriteLine($"--- server {name} log (end)\n" + log[Math.Max(0, log.Length - 6000)..]);
        }
    }

    private XmppPerson Track(XmppPerson p)
    {
        _people.Add(p);
        return p;
    }
}
