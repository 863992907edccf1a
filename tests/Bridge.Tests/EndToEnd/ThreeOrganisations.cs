using System.Diagnostics;
using System.Text.Json.Nodes;
using Bridge.Testing;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Three organisations, each on its own Prosody (network), one room each, linked as <c>ops</c> through the real daemon:
/// org-a (Alpha, cleared SECRET), org-b (Bravo, cleared CUI), org-c (Charlie, UNCLASSIFIED only); every network's
/// unmarked messages are UNCLASSIFIED. The <c>policy:</c> section is the test's, and can be rewritten while the daemon runs.
/// </summary>
internal sealed class ThreeOrganisations : IAsyncDisposable
{
    public const string Labels = "[UNCLASSIFIED, CUI, SECRET]";

    private readonly List<IAsyncDisposable> _people = [];

    private readonly bool _clearancesOnNetworks;

    // One deployment's keys: a rewritten configuration (a reload) keeps them, as an operator's would.
    private readonly string _auditKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    private readonly string _secretsKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private ThreeOrganisations(ProsodyServer a, ProsodyServer b, ProsodyServer c, TempDirectory dir, bool clearancesOnNetworks)
    {
        _clearancesOnNetworks = clearancesOnNetworks;
        A = a;
        B = b;
        C = c;
        Dir = dir;
    }

    public ProsodyServer A { get; }
    public ProsodyServer B { get; }
    public ProsodyServer C { get; }
    public TempDirectory Dir { get; }
    public string RoomA => A.Room("ops");
    public string RoomB => B.Room("ops");
    public string RoomC => C.Room("ops");
    public string ConfigPath => Dir.File("bridge.yaml");
    public string DatabasePath => Dir.File("bridge.db");
    public BridgeProcess? Bridge { get; private set; }

    /// <summary>The audit key the next <see cref="WriteConfigAsync"/> writes instead of this deployment's ("" = none).</summary>
    public string? AuditKeyOverride { get; set; }

    /// <param name="policyYaml">the <c>policy:</c> section.</param>
    /// <param name="clearancesOnNetworks">
    /// true: clearances and default labels are in the network definitions; false: the network definitions carry none,
    /// so the policy section alone decides (as in the documentation's worked example).
    /// </param>
    public static async Task<ThreeOrganisations> StartAsync(string policyYaml, bool clearancesOnNetworks = true)
    {
        var dir = new TempDirectory();
        var servers = await Task.WhenAll(
            ProsodyServer.StartAsync("a.localhost"),
            ProsodyServer.StartAsync("b.localhost"),
            ProsodyServer.StartAsync("c.localhost"));
        var orgs = new ThreeOrganisations(servers[0], servers[1], servers[2], dir, clearancesOnNetworks);
        await Task.WhenAll(
            orgs.A.RegisterAsync("alice", "alicepass"),
            orgs.B.RegisterAsync("bob", "bobpass"),
            orgs.C.RegisterAsync("carol", "carolpass"));
        await orgs.WriteConfigAsync(policyYaml);
        return orgs;
    }

    /// <summary>(Re)writes the whole configuration file with <paramref name="policyYaml"/> as its <c>policy:</c> section.</summary>
    public async Task WriteConfigAsync(string policyYaml)
    {
        var builder = new BridgeConfigBuilder(DatabasePath) { AuditKey = AuditKeyOverride ?? _auditKey, SecretsKey = _secretsKey }
            .Xmpp("org-a", A, "Alpha", Labelled("SECRET"))
            .Xmpp("org-b", B, "Bravo", Labelled("CUI"))
            .Xmpp("org-c", C, "Charlie", Labelled("UNCLASSIFIED"))
            .Link("ops", ("org-a", RoomA), ("org-b", RoomB), ("org-c", RoomC))
            .Raw("audit:\n  recordContent: true")
            .Raw(policyYaml);
        await builder.WriteAsync(ConfigPath);
    }

    public async Task<BridgeProcess> StartBridgeAsync()
    {
        Bridge = await BridgeProcess.StartAsync(ConfigPath);
        return Bridge;
    }

    public async Task<XmppPerson> AliceAsync() => Track(await XmppPerson.JoinAsync(A, "alice", "alicepass", RoomA, "Alice"));

    public async Task<XmppPerson> BobAsync() => Track(await XmppPerson.JoinAsync(B, "bob", "bobpass", RoomB, "Bob"));

    public async Task<XmppPerson> CarolAsync() => Track(await XmppPerson.JoinAsync(C, "carol", "carolpass", RoomC, "Carol"));

    /// <summary>Runs the real <c>bridge</c> executable with a verb against this configuration (as an operator would).</summary>
    public async Task<CliRun> CliAsync(params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "bridge"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Dir.Path,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(ConfigPath);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the bridge CLI");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"bridge {string.Join(' ', args)} did not finish within 30 s");
        }

        return new CliRun(process.ExitCode, await stdout, await stderr);
    }

    /// <summary><c>bridge audit export --format jsonl</c>, parsed.</summary>
    public async Task<IReadOnlyList<JsonObject>> ExportAuditAsync()
    {
        var run = await CliAsync("audit", "export", "--format", "jsonl");
        Assert.True(run.ExitCode == 0, $"audit export exited {run.ExitCode}: {run.Stderr}");
        return run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => JsonNode.Parse(l)!.AsObject())
            .ToList();
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

        await Task.WhenAll(A.DisposeAsync().AsTask(), B.DisposeAsync().AsTask(), C.DisposeAsync().AsTask());
        Dir.Dispose();
    }

    private Dictionary<string, string> Labelled(string clearance) => _clearancesOnNetworks
        ? new() { ["clearance"] = clearance, ["defaultLabel"] = "UNCLASSIFIED" }
        : [];

    private XmppPerson Track(XmppPerson p)
    {
        _people.Add(p);
        return p;
    }
}

internal sealed record CliRun(int ExitCode, string Stdout, string Stderr);
