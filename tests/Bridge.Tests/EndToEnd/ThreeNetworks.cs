using System.Text.Json.Nodes;
using Bridge.Testing;
using Microsoft.Data.Sqlite;
using Sandbox.Matrix;
using Sandbox.Mattermost;
using MatrixUser = Sandbox.Matrix.SandboxUser;
using MattermostUser = Sandbox.Mattermost.SandboxUser;

namespace Bridge.Tests.EndToEnd;

/// <summary>Which servers a <see cref="ThreeNetworks"/> fixture starts.</summary>
internal sealed class ThreeNetworksOptions
{
    public bool Matrix { get; init; } = true;

    public bool Mattermost { get; init; } = true;

    /// <summary>Starts the XMPP server of network <c>xmpp</c> (domain <c>a.localhost</c>); Prosody unless a test picks another.</summary>
    public Func<Task<IXmppTestServer>> StartXmpp { get; init; } = async () => await ProsodyServer.StartAsync("a.localhost");

    /// <summary>A second organisation's Prosody (network <c>xmpp2</c>) in the same link.</summary>
    public bool SecondXmpp { get; init; }

    /// <summary>
    /// The daemon reaches Prosody's component port and the homeserver's client API through a <see cref="DelayingTcpProxy"/>
    /// each (<see cref="ThreeNetworks.XmppLink"/>, <see cref="ThreeNetworks.MatrixLink"/>), to make those links slow or down.
    /// </summary>
    public bool Proxies { get; init; }

    /// <summary>Where the homeserver pushes transactions (a health-checked front for two daemons); the daemon's listen address if null.</summary>
    public Uri? MatrixPushUrl { get; init; }

    /// <summary>Prosody runs its XEP-0363 upload service (<c>mod_http_file_share</c>) and the XMPP network lists its host in <c>fileHosts</c>.</summary>
    public bool XmppFileUpload { get; init; }

    /// <summary>More hosts for the XMPP network's <c>fileHosts</c> (host:port of test HTTP listeners).</summary>
    public IReadOnlyList<string> XmppExtraFileHosts { get; init; } = [];

    /// <summary>Sets <c>guestPuppets: true</c> on the Mattermost network.</summary>
    public bool MattermostGuestPuppets { get; init; }

    /// <summary>The daemon reaches Mattermost through a <see cref="BlackholeProxy"/> (<see cref="ThreeNetworks.MattermostProxy"/>), to cut it.</summary>
    public bool MattermostThroughProxy { get; init; }

    /// <summary>Keys of the Mattermost network's section set (or, with a null value, removed to get the default).</summary>
    public IReadOnlyDictionary<string, string?> MattermostKeys { get; init; } = new Dictionary<string, string?>();

    /// <summary>Tokens and username override allowed unless a test says otherwise (the real server's defaults forbid both).</summary>
    public SandboxSettings MattermostSettings { get; init; } = new()
    {
        EnableUserAccessTokens = true,
        EnableBotAccountCreation = true,
        EnablePostUsernameOverride = true,
    };
}

/// <summary>
/// One link "ops" across a real Prosody (a slixmpp person Alice), the sandbox homeserver hosted in-process (Bob) and the
/// sandbox Mattermost hosted in-process (Carol), with the real daemon as a child process pointing at all of them.
/// The sandboxes keep their state across <c>StopAsync</c>/<c>StartAsync</c> on the same port, which is how outages are made.
/// </summary>
internal sealed class ThreeNetworks : IAsyncDisposable
{
    public const string AsToken = "e2e-as-token";
    public const string HsToken = "e2e-hs-token";
    public const string Bot = "@_bridge_bot:localhost";
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    private readonly List<IAsyncDisposable> _people = [];

    private ThreeNetworks(TempDirectory dir, IXmppTestServer xmpp)
    {
        Dir = dir;
        Xmpp = xmpp;
    }

    public TempDirectory Dir { get; }
    public IXmppTestServer Xmpp { get; }
    public ProsodyServer? Xmpp2 { get; private set; }
    public MatrixSandbox? Matrix { get; private set; }
    public MatrixUser? Bob { get; private set; }
    public string MatrixRoom { get; private set; } = "";
    public MattermostSandbox? Mattermost { get; private set; }
    public SandboxSeed? Seed { get; private set; }
    public MattermostUser? Carol { get; private set; }
    public BridgeProcess? Bridge { get; private set; }
    public BlackholeProxy? MattermostProxy { get; private set; }

    /// <summary>The daemon's XMPP component connection, when <see cref="ThreeNetworksOptions.Proxies"/>.</summary>
    public DelayingTcpProxy? XmppLink { get; private set; }

    /// <summary>The daemon's requests to the homeserver, when <see cref="ThreeNetworksOptions.Proxies"/>.</summary>
    public DelayingTcpProxy? MatrixLink { get; private set; }

    /// <summary>The daemon's appservice listener (the <c>listen</c> setting of the Matrix network).</summary>
    public Uri? MatrixListen { get; private set; }

    public string XmppRoom => Xmpp.Room("ops");
    public string ConfigPath => Dir.File("bridge.yaml");
    public string DatabasePath => Dir.File("bridge.db");

    public MatrixSandbox Hs => Matrix ?? throw new InvalidOperationException("no Matrix network in this fixture");
    public MattermostSandbox Mm => Mattermost ?? throw new InvalidOperationException("no Mattermost network in this fixture");
    public string MmChannel => Seed!.Channel.Id;

    public static async Task<ThreeNetworks> StartAsync(ThreeNetworksOptions? options = null, Action<BridgeConfigBuilder>? configure = null)
    {
        options ??= new ThreeNetworksOptions();
        var dir = new TempDirectory();
        // An upload service is Prosody's (mod_http_file_share); otherwise the server the options start (Prosody or ejabberd).
        var xmpp = options.XmppFileUpload ? await ProsodyServer.StartAsync("a.localhost", httpUpload: true) : await options.StartXmpp();
        var net = new ThreeNetworks(dir, xmpp);
        try
        {
            await xmpp.RegisterAsync("alice", "alicepass");
            net.XmppLink = options.Proxies ? DelayingTcpProxy.Start(xmpp.ComponentPort) : null;
            var builder = new BridgeConfigBuilder(net.DatabasePath).Xmpp("xmpp", xmpp, "org-xmpp", viaPort: net.XmppLink?.Port);
            string[] fileHosts = [.. new[] { xmpp.UploadHost }.OfType<string>(), .. options.XmppExtraFileHosts];
            if (fileHosts.Length > 0)
            {
                builder.ListSetting("xmpp", "fileHosts", fileHosts);
            }
            var endpoints = new List<(string, string)> { ("xmpp", net.XmppRoom) };
            if (options.SecondXmpp)
            {
                net.Xmpp2 = await ProsodyServer.StartAsync("b.localhost");
                await net.Xmpp2.RegisterAsync("dave", "davepass");
                builder.Xmpp("xmpp2", net.Xmpp2, "org-xmpp2");
                endpoints.Add(("xmpp2", net.Xmpp2.Room("ops")));
            }

            if (options.Matrix)
            {
                await net.StartMatrixAsync(builder, options.Proxies, options.MatrixPushUrl);
                endpoints.Add(("matrix", "#ops:localhost"));
            }

            if (options.Mattermost)
            {
                await net.StartMattermostAsync(builder, options.MattermostSettings, options.MattermostGuestPuppets, options.MattermostThroughProxy, options.MattermostKeys);
                endpoints.Add(("mm", "town-square"));
            }

            builder.Link("ops", [.. endpoints]);
            configure?.Invoke(builder);
            await builder.WriteAsync(net.ConfigPath);
            return net;
        }
        catch
        {
            await net.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts (or restarts) the daemon; on the first start the room admin invites the bridge bot, which joins.</summary>
    public async Task<BridgeProcess> StartBridgeAsync()
    {
        if (Bridge is not null)
        {
            await Bridge.DisposeAsync();
        }

        Bridge = await BridgeProcess.StartAsync(ConfigPath);
        if (Matrix is not null && !Matrix.GetMembers(MatrixRoom).Contains(Bot))
        {
            Matrix.Invite(MatrixRoom, Bob!.UserId, Bot);
            await WaitUntilAsync(() => Matrix.GetMembers(MatrixRoom).Contains(Bot), TimeSpan.FromSeconds(30), "the bridge bot joined the Matrix room");
        }

        return Bridge;
    }

    public async Task<XmppPerson> AliceAsync(int history = 0) =>
        Track(await XmppPerson.JoinAsync(Xmpp, "alice", "alicepass", XmppRoom, "Alice", history: history));

    public async Task<XmppPerson> DaveAsync(int history = 0) =>
        Track(await XmppPerson.JoinAsync(Xmpp2!, "dave", "davepass", Xmpp2!.Room("ops"), "Dave", history: history));

    /// <summary>Bob speaks on Matrix (through the homeserver's own send path, as his client would).</summary>
    public string BobSays(string text) => Hs.SendMessage(MatrixRoom, Bob!.UserId, text);

    /// <summary>Carol posts on Mattermost (through the server's POST /posts path, events included).</summary>
    public SandboxPost CarolSays(string text) => Mm.Post(Carol!.Id, MmChannel, text);

    /// <summary>Matrix messages whose body starts with <paramref name="prefix"/>, oldest first: (sender, body).</summary>
    public IReadOnlyList<(string Sender, string Body)> MatrixMessages(string prefix) =>
        [.. Hs.GetMessages(MatrixRoom)
            .Select(e => (Sender: e["sender"]!.GetValue<string>(), Body: (e["content"] as JsonObject)?["body"]?.GetValue<string>() ?? ""))
            .Where(m => m.Body.StartsWith(prefix, StringComparison.Ordinal))];

    /// <summary>Live Mattermost posts of the linked channel whose text starts with <paramref name="prefix"/>, oldest first.</summary>
    public IReadOnlyList<SandboxPost> MattermostPosts(string prefix) =>
        [.. Mm.GetPosts(MmChannel).Where(p => !p.IsDeleted && !p.IsSystem && p.Message.StartsWith(prefix, StringComparison.Ordinal))];

    /// <summary>Display name of a Matrix user as the homeserver serves it.</summary>
    public string? MatrixDisplayName(string userId) => Hs.GetProfile(userId)["displayname"]?.GetValue<string>();

    /// <summary>Waits for pending outbox rows toward a network (the bridge's own SQLite file, read only).</summary>
    public Task WaitForPendingAsync(string network, int expected) => WaitForPendingAsync(DatabasePath, network, expected);

    public static async Task WaitForPendingAsync(string db, string network, int expected)
    {
        var count = -1;
        await WaitUntilAsync(() =>
        {
            count = PendingRows(db, network);
            return count == expected;
        }, TimeSpan.FromSeconds(30), $"{expected} pending outbox rows toward {network}", () => $"found {count}");
    }

    public static int PendingRows(string db, string network)
    {
        if (!File.Exists(db))
        {
            return -1;
        }

        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM outbox WHERE state = 0 AND dest_network = $n";
        cmd.Parameters.AddWithValue("$n", network);
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string>? detail = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what}: not within {timeout}. {detail?.Invoke()}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The XMPP person saw exactly <c>prefix0..prefix{n-1}</c>, once each, in order, all from <paramref name="nick"/>.</summary>
    public static void AssertXmppExactlyInOrder(IReadOnlyList<ReceivedMessage> messages, string prefix, int n, string nick)
    {
        var ours = messages.Where(m => m.Body.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(Expected(prefix, n), ours.Select(m => m.Body).ToList());
        Assert.All(ours, m => Assert.Equal(nick, m.FromNick));
    }

    public static List<string> Expected(string prefix, int n) => [.. Enumerable.Range(0, n).Select(i => $"{prefix}{i}")];

    /// <summary>
    /// On Matrix: exactly the expected bodies, in order, all sent by one puppet of the bridge's namespace that carries
    /// <paramref name="displayName"/>; returns the puppet's user id.
    /// </summary>
    public string AssertMatrixExactlyInOrder(string prefix, int n, string displayName)
    {
        var ours = MatrixMessages(prefix);
        Assert.Equal(Expected(prefix, n), ours.Select(m => m.Body).ToList());
        var sender = Assert.Single(ours.Select(m => m.Sender).Distinct());
        Assert.StartsWith("@_bridge_", sender, StringComparison.Ordinal);
        Assert.NotEqual(Bot, sender);
        Assert.Equal(displayName, MatrixDisplayName(sender));
        return sender;
    }

    /// <summary>
    /// On Mattermost: exactly the expected messages, in order, all posted by one puppet user (prefix <c>br-</c>) whose
    /// name is the person's display name; returns that user.
    /// </summary>
    public MattermostUser AssertMattermostExactlyInOrder(string prefix, int n, string displayName)
    {
        var ours = MattermostPosts(prefix);
        Assert.Equal(Expected(prefix, n), ours.Select(p => p.Message).ToList());
        var author = Mm.GetUser(Assert.Single(ours.Select(p => p.UserId).Distinct()));
        Assert.StartsWith("br-", author.Username, StringComparison.Ordinal);
        Assert.Equal(displayName, author.FirstName);
        Assert.NotEqual(Carol!.Id, author.Id);
        return author;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _people)
        {
            await p.DisposeAsync();
        }

        if (Bridge is not null)
        {
            await Bridge.DisposeAsync();
        }

        if (Matrix is not null)
        {
            await Matrix.DisposeAsync();
        }

        if (MattermostProxy is not null)
        {
            await MattermostProxy.DisposeAsync();
        }

        if (Mattermost is not null)
        {
            await Mattermost.DisposeAsync();
        }

        foreach (var link in new[] { XmppLink, MatrixLink })
        {
            if (link is not null)
            {
                await link.DisposeAsync();
            }
        }

        await Xmpp.DisposeAsync();
        if (Xmpp2 is not null)
        {
            await Xmpp2.DisposeAsync();
        }

        Dir.Dispose();
    }

    private async Task StartMatrixAsync(BridgeConfigBuilder builder, bool proxied, Uri? pushUrl)
    {
        // Short retry cap: after an outage of the bridge the homeserver re-pushes within a second.
        Matrix = new MatrixSandbox(new MatrixSandboxOptions
        {
            TransactionRetryMin = TimeSpan.FromMilliseconds(100),
            TransactionRetryMax = TimeSpan.FromSeconds(1),
        });
        await Matrix.StartAsync();
        Bob = Matrix.CreateUser("bob");
        Matrix.SetDisplayName(Bob.UserId, "Bob");
        MatrixRoom = Matrix.CreateRoom(Bob.UserId, aliasLocalpart: "ops");
        MatrixLink = proxied ? DelayingTcpProxy.Start(Matrix.Port) : null;
        var listen = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
        MatrixListen = listen;
        Matrix.AddBridgeAppservice(pushUrl ?? listen, AsToken, HsToken);
        builder.Network("matrix", "matrix", "org-matrix", new Dictionary<string, string>
        {
            ["homeserverUrl"] = MatrixLink is { } link ? $"http://127.0.0.1:{link.Port}/" : Matrix.BaseUrl.ToString(),
            ["serverName"] = Matrix.ServerName,
            ["listen"] = listen.ToString().TrimEnd('/'),
            ["asToken"] = AsToken,
            ["hsToken"] = HsToken,
            ["requestTimeout"] = "00:00:05",
        });
    }

    private async Task StartMattermostAsync(BridgeConfigBuilder builder, SandboxSettings settings, bool guestPuppets, bool throughProxy,
        IReadOnlyDictionary<string, string?> overrides)
    {
        Mattermost = new MattermostSandbox(settings);
        await Mattermost.StartAsync();
        Seed = Mattermost.Seed();
        Carol = Mattermost.CreateMember(Seed, "carol");
        var keys = Mattermost.BridgeSettings(Seed);
        keys["requestTimeout"] = "00:00:05";
        foreach (var (key, value) in overrides)
        {
            if (value is null)
            {
                keys.Remove(key);
            }
            else
            {
                keys[key] = value;
            }
        }

        if (throughProxy)
        {
            MattermostProxy = BlackholeProxy.Start(Mattermost.Port);
            keys["url"] = MattermostProxy.Through(new Uri(keys["url"])).ToString();
        }

        if (guestPuppets)
        {
            keys["guestPuppets"] = "true";
        }

        builder.Network("mm", "mattermost", "org-mm", keys);
    }

    private XmppPerson Track(XmppPerson p)
    {
        _people.Add(p);
        return p;
    }
}
