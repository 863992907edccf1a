using Bridge.Testing;

namespace Bridge.Demo;

/// <summary>
/// Brings up two organisations' XMPP servers, links a room on each through the bridge, has a real client in
/// each room say hello, and shows what arrived where.
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
        var roomA = a.Room("demo");
        var roomB = b.Room("demo");

        var config = _dir.File("bridge.yaml");
        await new BridgeConfigBuilder(_dir.File("bridge.db"))
            .Xmpp("org-a", a)
            .Xmpp("org-b", b)
            .Link("demo", ("org-a", roomA), ("org-b", roomB))
            .WriteAsync(config);
        output.WriteLine($"demo: starting the bridge (config {config}, store {_dir.File("bridge.db")})");
        _bridge = await BridgeProcess.StartAsync(config);

        var alice = Track(await XmppPerson.JoinAsync(a, "alice", "alicepass", roomA, "Alice"));
        var bob = Track(await XmppPerson.JoinAsync(b, "bob", "bobpass", roomB, "Bob"));
        output.WriteLine($"demo: Alice is in {roomA}, Bob is in {roomB}");

        var greetings = new[] { (alice, "Hello from Alice at org-a"), (bob, "Hello from Bob at org-b") };
        foreach (var (person, text) in greetings)
        {
            await person.SayAsync(text);
        }

        var ok = true;
        foreach (var (sender, receiver, text) in new[] { (alice, bob, greetings[0].Item2), (bob, alice, greetings[1].Item2) })
        {
            try
            {
                var got = await receiver.WaitForAsync(ms => ms.Any(m => m.Body == text), CrossingTimeout, $"'{text}'");
                var m = got.First(m => m.Body == text);
                output.WriteLine($"arrived: {receiver.Nick}'s room shows <{m.FromNick}> {m.Body}");
            }
            catch (TimeoutException ex)
            {
                ok = false;
                output.WriteLine($"MISSING: '{text}' from {sender.Nick} did not reach {receiver.Nick}: {ex.Message}");
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

    private T Track<T>(T resource)
        where T : IAsyncDisposable
    {
        _resources.Add(resource);
        return resource;
    }
}
