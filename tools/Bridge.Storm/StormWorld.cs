using Bridge.Storm.Sides;
using Bridge.Testing;
using Sandbox.Matrix;
using Sandbox.Mattermost;

namespace Bridge.Storm;

/// <summary>
/// One link "storm" across a real Prosody MUC room (Alice, slixmpp), a sandbox Matrix room (Bob) and a sandbox
/// Mattermost channel (Carol), and the daemon's configuration and store, which outlive every daemon run.
/// Set up as tests/Bridge.Tests/EndToEnd/ThreeNetworks.cs does.
/// </summary>
internal sealed class StormWorld : IAsyncDisposable
{
    private const string AsToken = "storm-as-token";
    private const string HsToken = "storm-hs-token";
    private readonly List<IAsyncDisposable> _resources = [];

    private StormWorld(TempDirectory dir)
    {
        Dir = dir;
    }

    public TempDirectory Dir { get; }
    public string ConfigPath => Dir.File("bridge.yaml");
    public string DatabasePath => Dir.File("bridge.db");
    public IReadOnlyList<Side> Sides { get; private set; } = [];
    public MatrixSandbox Matrix { get; private set; } = null!;
    public string MatrixRoom { get; private set; } = "";
    public string BridgeBot => $"@_bridge_bot:{Matrix.ServerName}";

    public static async Task<StormWorld> StartAsync(string? daemonLogLevel = null)
    {
        var world = new StormWorld(new TempDirectory());
        try
        {
            await world.SetUpAsync(daemonLogLevel);
            return world;
        }
        catch
        {
            await world.DisposeAsync();
            throw;
        }
    }

    /// <summary>After the daemon's first start: the room admin invites the bridge bot, which joins.</summary>
    public async Task InviteBotAsync(string inviter, CancellationToken cancellationToken)
    {
        if (Matrix.GetMembers(MatrixRoom).Contains(BridgeBot))
        {
            return;
        }

        Matrix.Invite(MatrixRoom, inviter, BridgeBot);
        await Matrix.WaitForJoinAsync(MatrixRoom, BridgeBot, TimeSpan.FromSeconds(30), cancellationToken);
    }

    public string MatrixInviter { get; private set; } = "";

    public async ValueTask DisposeAsync()
    {
        foreach (var side in Sides)
        {
            await side.DisposeAsync();
        }

        for (var i = _resources.Count - 1; i >= 0; i--)
        {
            await _resources[i].DisposeAsync();
        }

        Dir.Dispose();
    }

    /// <summary>The people join after the daemon's first start (Alice's client joins the room the bridge created).</summary>
    public async Task JoinPeopleAsync()
    {
        var alice = await XmppPerson.JoinAsync(_xmpp!, "alice", "alicepass", _xmpp!.Room("storm"), "Alice");
        Sides = [new XmppSide(alice, _files!.BaseUrl), .. Sides];
    }

    private ProsodyServer? _xmpp;
    private FileHost? _files;

    private async Task SetUpAsync(string? daemonLogLevel)
    {
        // With its upload service, so files from Matrix and Mattermost reach Alice through XEP-0363 as clients expect.
        _xmpp = Track(await ProsodyServer.StartAsync("a.localhost", httpUpload: true));
        await _xmpp.RegisterAsync("alice", "alicepass");
        _files = Track(await FileHost.StartAsync());

        // Short retry cap: after a kill the homeserver re-pushes within a second.
        Matrix = Track(new MatrixSandbox(new MatrixSandboxOptions
        {
            TransactionRetryMin = TimeSpan.FromMilliseconds(100),
            TransactionRetryMax = TimeSpan.FromSeconds(1),
        }));
        await Matrix.StartAsync();
        var bob = Matrix.CreateUser("bob");
        Matrix.SetDisplayName(bob.UserId, "Bob");
        MatrixRoom = Matrix.CreateRoom(bob.UserId, aliasLocalpart: "storm");
        MatrixInviter = bob.UserId;
        var listen = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
        Matrix.AddBridgeAppservice(listen, AsToken, HsToken);

        var mm = Track(new MattermostSandbox(new SandboxSettings
        {
            EnableUserAccessTokens = true,
            EnableBotAccountCreation = true,
            EnablePostUsernameOverride = true,
        }));
        await mm.StartAsync();
        var seed = mm.Seed();
        var carol = mm.CreateMember(seed, "carol");
        var mmKeys = mm.BridgeSettings(seed);
        mmKeys["requestTimeout"] = "00:00:05";

        await new BridgeConfigBuilder(DatabasePath)
            .Xmpp("xmpp", _xmpp, "org-xmpp")
            // Alice's files live on the file host (what her upload gave her): the bridge may fetch from it.
            .ListSetting("xmpp", "fileHosts", _xmpp.UploadHost!, _files!.BaseUrl.Authority)
            .Network("matrix", "matrix", "org-matrix", new Dictionary<string, string>
            {
                ["homeserverUrl"] = Matrix.BaseUrl.ToString(),
                ["serverName"] = Matrix.ServerName,
                ["listen"] = listen.ToString().TrimEnd('/'),
                ["asToken"] = AsToken,
                ["hsToken"] = HsToken,
                ["requestTimeout"] = "00:00:05",
            })
            .Network("mm", "mattermost", "org-mm", mmKeys)
            .Link("storm", ("xmpp", _xmpp.Room("storm")), ("matrix", $"#storm:{Matrix.ServerName}"), ("mm", $"{seed.Team.Name}/{seed.Channel.Name}"))
            .Raw(daemonLogLevel is null ? "" : $"logging:\n  LogLevel:\n    Default: Information\n    Bridge: {daemonLogLevel}\n")
            .WriteAsync(ConfigPath);

        Sides =
        [
            new MatrixSide(Matrix, MatrixRoom, bob.UserId, bob.AccessToken),
            new MattermostSide(mm, seed.Channel.Id, carol.Id, mm.CreateAccessToken(carol.Id)),
        ];
    }

    private T Track<T>(T resource)
        where T : IAsyncDisposable
    {
        _resources.Add(resource);
        return resource;
    }
}
