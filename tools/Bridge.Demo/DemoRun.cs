using Bridge.Testing;
using Sandbox.Matrix;
using Sandbox.Mattermost;

namespace Bridge.Demo;

/// <summary>
/// One shared channel across four networks of four organisations: two private Prosody servers (org-a, org-b),
/// the sandbox Matrix homeserver (org-c) and the sandbox Mattermost server (org-d). A real person on each says
/// hello; the demo shows where each greeting arrived and as whom.
/// </summary>
internal sealed class DemoRun(TextWriter output) : IAsyncDisposable
{
    private static readonly TimeSpan CrossingTimeout = TimeSpan.FromSeconds(60);
    private readonly List<IAsyncDisposable> _resources = [];
    private readonly TempDirectory _dir = new();
    private BridgeProcess? _bridge;

    public async Task<int> RunAsync(bool once, CancellationToken cancellationToken)
    {
        output.WriteLine("demo: starting two private Prosody servers (org-a, org-b) on loopback");
        var a = Track(await ProsodyServer.StartAsync("a.localhost"));
        var b = Track(await ProsodyServer.StartAsync("b.localhost"));
        await a.RegisterAsync("alice", "alicepass");
        await b.RegisterAsync("bob", "bobpass");

        output.WriteLine("demo: starting the sandbox Matrix homeserver (org-c) and Mattermost server (org-d)");
        var matrix = Track(new MatrixSandbox(new MatrixSandboxOptions { TransactionRetryMax = TimeSpan.FromSeconds(2) }));
        await matrix.StartAsync(cancellationToken);
        var carol = matrix.CreateUser("carol");
        matrix.SetDisplayName(carol.UserId, "Carol");
        var matrixRoom = matrix.CreateRoom(carol.UserId, aliasLocalpart: "demo");
        var appservicePort = FreePorts.Next();
        var asToken = Guid.NewGuid().ToString("N");
        var hsToken = Guid.NewGuid().ToString("N");
        matrix.AddBridgeAppservice(new Uri($"http://127.0.0.1:{appservicePort}"), asToken, hsToken);
        matrix.Invite(matrixRoom, carol.UserId, $"@_bridge_bot:{matrix.ServerName}");

        // Real puppets need personal access tokens (off by default on a real server too; docs/mattermost.md).
        var mattermost = Track(new MattermostSandbox(new SandboxSettings { EnableUserAccessTokens = true }));
        await mattermost.StartAsync(cancellationToken: cancellationToken);
        var seed = mattermost.Seed();
        var dave = mattermost.CreateUser("dave");
        mattermost.AddToTeam(seed.Team.Id, dave.Id);
        mattermost.AddToChannel(seed.Channel.Id, dave.Id);

        var config = _dir.File("bridge.yaml");
        await new BridgeConfigBuilder(_dir.File("bridge.db"))
            .Xmpp("org-a", a)
            .Xmpp("org-b", b)
            .Network("org-c", "matrix", "org-c", new Dictionary<string, string>
            {
                ["homeserverUrl"] = matrix.BaseUrl.ToString(),
                ["serverName"] = matrix.ServerName,
                ["listen"] = $"http://127.0.0.1:{appservicePort}",
                ["asToken"] = asToken,
                ["hsToken"] = hsToken,
            })
            .Network("org-d", "mattermost", "org-d", new Dictionary<string, string>
            {
                ["url"] = mattermost.BaseUrl.ToString(),
                ["token"] = seed.AdminToken,
                ["team"] = seed.Team.Name,
            })
            .Link("demo", ("org-a", a.Room("demo")), ("org-b", b.Room("demo")), ("org-c", $"#demo:{matrix.ServerName}"), ("org-d", $"{seed.Team.Name}/{seed.Channel.Name}"))
            .WriteAsync(config);
        output.WriteLine($"demo: starting the bridge (config {config}, store {_dir.File("bridge.db")})");
        _bridge = await BridgeProcess.StartAsync(config);
        await matrix.WaitForJoinAsync(matrixRoom, $"@_bridge_bot:{matrix.ServerName}", TimeSpan.FromSeconds(60), cancellationToken);

        var alice = Track(await XmppPerson.JoinAsync(a, "alice", "alicepass", a.Room("demo"), "Alice"));
        var bob = Track(await XmppPerson.JoinAsync(b, "bob", "bobpass", b.Room("demo"), "Bob"));
        output.WriteLine($"demo: Alice (XMPP, org-a), Bob (XMPP, org-b), Carol (Matrix, org-c) and Dave (Mattermost, org-d) share one channel");

        var rooms = new List<Room>
        {
            new("Alice", "XMPP org-a", text => alice.SayAsync(text),
                () => alice.Messages.Where(m => m.FromNick != "Alice").Select(m => (m.FromNick, m.Body))),
            new("Bob", "XMPP org-b", text => bob.SayAsync(text),
                () => bob.Messages.Where(m => m.FromNick != "Bob").Select(m => (m.FromNick, m.Body))),
            new("Carol", "Matrix org-c", text => Task.FromResult(matrix.SendMessage(matrixRoom, carol.UserId, text)),
                () => matrix.GetMessages(matrixRoom)
                    .Where(e => (string?)e["sender"] != carol.UserId)
                    .Select(e => (DisplayName(matrix, (string?)e["sender"] ?? ""), (string?)e["content"]?["body"] ?? ""))),
            new("Dave", "Mattermost org-d", text => Task.FromResult(mattermost.Post(dave.Id, seed.Channel.Id, text)),
                () => mattermost.GetPosts(seed.Channel.Id).Where(p => p.UserId != dave.Id && !p.IsSystem).Select(p => (p.DisplayedAuthorName, p.Message))),
        };

        foreach (var room in rooms)
        {
            await room.Say($"Hello from {room.Person} on {room.Network}");
        }

        var ok = true;
        foreach (var from in rooms)
        {
            var text = $"Hello from {from.Person} on {from.Network}";
            foreach (var to in rooms.Where(r => r != from))
            {
                var seen = await WaitAsync(() => to.Received().FirstOrDefault(m => m.Body == text), cancellationToken);
                if (seen is { } m)
                {
                    output.WriteLine($"arrived: {to.Network} ({to.Person}'s room) shows <{m.Author}> {m.Body}");
                }
                else
                {
                    ok = false;
                    output.WriteLine($"MISSING: '{text}' did not reach {to.Network}");
                }
            }
        }

        output.WriteLine(ok ? "demo: every greeting crossed every link" : "demo: some greetings did not cross");
        if (once)
        {
            if (!ok)
            {
                output.WriteLine(_bridge.Output);
            }

            return ok ? 0 : 1;
        }

        output.WriteLine("demo: the bridge keeps running; press Ctrl-C to stop");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            output.WriteLine("demo: stopping");
        }

        return ok ? 0 : 1;
    }

    public async ValueTask DisposeAsync()
    {
        if (_bridge is not null)
        {
            try
            {
                await _bridge.TerminateAsync(TimeSpan.FromSeconds(30));
            }
            catch (OperationCanceledException)
            {
                // Killed below.
            }

            await _bridge.DisposeAsync();
        }

        for (var i = _resources.Count - 1; i >= 0; i--)
        {
            await _resources[i].DisposeAsync();
        }

        _dir.Dispose();
    }

    private static string DisplayName(MatrixSandbox matrix, string userId) =>
        (string?)matrix.GetProfile(userId)["displayname"] ?? userId;

    private static async Task<(string Author, string Body)?> WaitAsync(Func<(string Author, string Body)> find, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + CrossingTimeout;
        while (DateTime.UtcNow < deadline)
        {
            var found = find();
            if (found.Body is not null)
            {
                return found;
            }

            await Task.Delay(50, cancellationToken);
        }

        return null;
    }

    private T Track<T>(T resource)
        where T : IAsyncDisposable
    {
        _resources.Add(resource);
        return resource;
    }

    /// <summary>One person's room on one network: how they speak and what they see from others.</summary>
    private sealed record Room(string Person, string Network, Func<string, Task> Say, Func<IEnumerable<(string Author, string Body)>> Received);
}
