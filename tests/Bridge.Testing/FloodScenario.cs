using System.Diagnostics;

namespace Bridge.Testing;

/// <summary>
/// Two links between two Prosody servers through the real daemon: Mallory floods link "flood" while Quinn talks on link
/// "quiet"; Bob and Rita read the other side. Used by the end-to-end test and by <c>scripts/bench.sh --flood</c>.
/// </summary>
public sealed class FloodScenario : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly TempDirectory _dir = new();

    private FloodScenario()
    {
    }

    public BridgeProcess Bridge { get; private set; } = null!;
    public XmppPerson Mallory { get; private set; } = null!;
    public XmppPerson Quinn { get; private set; } = null!;
    public XmppPerson Bob { get; private set; } = null!;
    public XmppPerson Rita { get; private set; } = null!;

    /// <summary>Starts servers, daemon (with <paramref name="extraYaml"/>, e.g. a <c>limits:</c> section) and people, and warms both links up.</summary>
    /// <param name="daemon">Another build's executable (see <see cref="BridgeProcess.StartAsync"/>); null for this build.</param>
    public static async Task<FloodScenario> StartAsync(string extraYaml, string? daemon = null)
    {
        var s = new FloodScenario();
        try
        {
            var a = await ProsodyServer.StartAsync("a.localhost");
            s._owned.Add(a);
            var b = await ProsodyServer.StartAsync("b.localhost");
            s._owned.Add(b);
            foreach (var (server, user) in new[] { (a, "mallory"), (a, "quinn"), (b, "bob"), (b, "rita") })
            {
                await server.RegisterAsync(user, user + "pass");
            }

            var config = await new BridgeConfigBuilder(s._dir.File("bridge.db"))
                .Xmpp("org-a", a)
                .Xmpp("org-b", b)
                .Link("flood", ("org-a", a.Room("flood")), ("org-b", b.Room("flood")))
                .Link("quiet", ("org-a", a.Room("quiet")), ("org-b", b.Room("quiet")))
                .Raw("logging:\n  LogLevel:\n    Default: Warning\n    Bridge.Core.Runtime: Information")
                .Raw(extraYaml)
                .WriteAsync(s._dir.File("bridge.yaml"));
            s.Bridge = await BridgeProcess.StartAsync(config, daemon: daemon);
            s._owned.Add(s.Bridge);
            s.Mallory = await s.Join(a, "mallory", "flood", "Mallory");
            s.Quinn = await s.Join(a, "quinn", "quiet", "Quinn");
            s.Bob = await s.Join(b, "bob", "flood", "Bob");
            s.Rita = await s.Join(b, "rita", "quiet", "Rita");
            await s.Mallory.SayAsync("warm flood");
            await s.Quinn.SayAsync("warm quiet");
            await s.Bob.WaitForAsync(ms => ms.Any(m => m.Body == "warm flood"), TimeSpan.FromSeconds(60), "the flood link's warm-up");
            await s.Rita.WaitForAsync(ms => ms.Any(m => m.Body == "warm quiet"), TimeSpan.FromSeconds(60), "the quiet link's warm-up");
            return s;
        }
        catch
        {
            await s.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Mallory sends <paramref name="flood"/> messages as fast as her client goes; once her server has taken them all,
    /// Quinn sends <paramref name="quiet"/>, one every <paramref name="quietGap"/>. Waits until everything arrived.
    /// </summary>
    /// <param name="mark">Called when Quinn starts, when his messages have all arrived and when the flood has (a bench reads the daemon's metrics there).</param>
    public async Task<FloodResult> RunAsync(int flood, int quiet, TimeSpan quietGap, TimeSpan timeout, Func<FloodMark, Task>? mark = null)
    {
        mark ??= _ => Task.CompletedTask;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < flood; i++)
        {
            await Mallory.SayAsync($"flood-{i}");
        }

        // Her room reflected the last one: every flood message is on her server, the backlog is the bridge's now.
        await Mallory.WaitForAsync(ms => ms.Any(m => m.Body == $"flood-{flood - 1}"), timeout, "Mallory's own flood");
        var floodSent = clock.Elapsed;
        await mark(FloodMark.QuietStarts);
        var sentAt = new DateTimeOffset[quiet];
        for (var i = 0; i < quiet; i++)
        {
            sentAt[i] = DateTimeOffset.UtcNow;
            await Quinn.SayAsync($"quiet-{i}");
            await Task.Delay(quietGap);
        }

        var quietDone = await Rita.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith("quiet-", StringComparison.Ordinal)) >= quiet, timeout, "Quinn's messages");
        var floodAtQuietDone = Bob.Messages.Count(m => m.Body.StartsWith("flood-", StringComparison.Ordinal));
        await mark(FloodMark.QuietDone);
        await Bob.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith("flood-", StringComparison.Ordinal)) >= flood, timeout, "the whole flood");
        var floodDrained = clock.Elapsed;
        await mark(FloodMark.FloodDone);
        await Task.Delay(1000); // a doubled message would arrive by now
        var delays = new List<double>();
        foreach (var m in quietDone.Where(m => m.Body.StartsWith("quiet-", StringComparison.Ordinal)))
        {
            if (int.TryParse(m.Body.AsSpan("quiet-".Length), out var i) && i < quiet)
            {
                delays.Add((m.ReceivedAt - sentAt[i]).TotalMilliseconds);
            }
        }

        delays.Sort();
        return new FloodResult(
            Bob.Messages.Where(m => m.Body.StartsWith("flood-", StringComparison.Ordinal)).Select(m => m.Body).ToList(),
            Rita.Messages.Where(m => m.Body.StartsWith("quiet-", StringComparison.Ordinal)).Select(m => m.Body).ToList(),
            delays, floodAtQuietDone, floodSent, floodDrained);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in new[] { Mallory, Quinn, Bob, Rita }.Where(p => p is not null))
        {
            await p.DisposeAsync();
        }

        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        _dir.Dispose();
    }

    private async Task<XmppPerson> Join(IXmppTestServer server, string user, string room, string nick) =>
        await XmppPerson.JoinAsync(server, user, user + "pass", server.Room(room), nick);
}

/// <summary>The moments of <see cref="FloodScenario.RunAsync"/> a caller is told about.</summary>
public enum FloodMark
{
    QuietStarts,
    QuietDone,
    FloodDone,
}

/// <summary>What arrived where, and when: the quiet link's delays (ms, sorted) and how much of the flood had crossed when the quiet link was done.</summary>
public sealed record FloodResult(IReadOnlyList<string> FloodReceived, IReadOnlyList<string> QuietReceived, IReadOnlyList<double> QuietDelaysMs,
    int FloodReceivedWhenQuietDone, TimeSpan FloodSent, TimeSpan FloodDrained)
{
    public double QuietPercentile(double p) => QuietDelaysMs.Count == 0 ? double.NaN :
        QuietDelaysMs[(int)Math.Min(QuietDelaysMs.Count - 1, Math.Max(0, Math.Ceiling(p * QuietDelaysMs.Count) - 1))];
}
