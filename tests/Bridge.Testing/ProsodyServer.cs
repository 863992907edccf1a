namespace Bridge.Testing;

/// <summary>
/// A private Prosody on loopback, started and stopped (by PID) through <c>scripts/prosody.sh</c>, on ports chosen here.
/// Its data folder survives <see cref="StopAsync"/> so a restart keeps rooms and accounts.
/// </summary>
public sealed class ProsodyServer : IXmppTestServer
{
    private readonly TempDirectory _dir = new();
    private readonly Dictionary<string, string> _environment;

    private ProsodyServer(string domain, bool roomLocking)
    {
        Domain = domain;
        ComponentDomain = "bridge." + domain;
        MucDomain = "conference." + domain;
        C2sPort = FreePorts.Next();
        ComponentPort = FreePorts.Next();
        _environment = new Dictionary<string, string> { ["MUC_ROOM_LOCKING"] = roomLocking ? "1" : "0" };
    }

    public string Domain { get; }
    public string ComponentDomain { get; }
    public string MucDomain { get; }
    public string Secret { get; } = "secret-" + Guid.NewGuid().ToString("N")[..8];
    public int C2sPort { get; }
    public int ComponentPort { get; }
    public bool IsRunning { get; private set; }
    public string Directory => _dir.Path;

    public static async Task<ProsodyServer> StartAsync(string domain, bool roomLocking = true)
    {
        var server = new ProsodyServer(domain, roomLocking);
        await server.StartAgainAsync();
        return server;
    }

    public async Task StartAgainAsync()
    {
        await ScriptRunner.RunAsync(RepoPaths.Script("prosody.sh"),
            ["start", _dir.Path, C2sPort.ToString(), ComponentPort.ToString(), Domain, ComponentDomain, Secret], _environment);
        IsRunning = true;
    }

    public async Task StopAsync()
    {
        if (IsRunning)
        {
            await ScriptRunner.RunAsync(RepoPaths.Script("prosody.sh"), ["stop", _dir.Path]);
            IsRunning = false;
        }
    }

    public Task RegisterAsync(string user, string password) =>
        ScriptRunner.RunAsync(RepoPaths.Script("prosody.sh"), ["register", _dir.Path, user, Domain, password]);

    public string Room(string name) => $"{name}@{MucDomain}";

    public string Log => File.Exists(Path.Combine(_dir.Path, "prosody.log")) ? File.ReadAllText(Path.Combine(_dir.Path, "prosody.log")) : "";

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            _dir.Dispose();
        }
    }
}
