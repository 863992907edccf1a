using Bridge.Testing;

namespace Bridge.Tests.EndToEnd;

/// <summary>Two organisations, each with its own Prosody, one room each, linked through the real daemon.</summary>
internal sealed class TwoOrganisations : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _people = [];

    private TwoOrganisations(ProsodyServer a, ProsodyServer b, TempDirectory dir)
    {
        A = a;
        B = b;
        Dir = dir;
    }

    public ProsodyServer A { get; }
    public ProsodyServer B { get; }
    public TempDirectory Dir { get; }
    public string RoomA => A.Room("ops");
    public string RoomB => B.Room("ops");
    public string ConfigPath => Dir.File("bridge.yaml");
    public string DatabasePath => Dir.File("bridge.db");
    public BridgeProcess? Bridge { get; private set; }

    public static async Task<TwoOrganisations> StartAsync(Action<BridgeConfigBuilder>? configure = null)
    {
        var dir = new TempDirectory();
        var a = await ProsodyServer.StartAsync("a.localhost");
        var b = await ProsodyServer.StartAsync("b.localhost");
        await a.RegisterAsync("alice", "alicepass");
        await b.RegisterAsync("bob", "bobpass");
        var orgs = new TwoOrganisations(a, b, dir);
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

    private XmppPerson Track(XmppPerson p)
    {
        _people.Add(p);
        return p;
    }
}
