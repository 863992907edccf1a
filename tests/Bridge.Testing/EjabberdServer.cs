namespace Bridge.Testing;

/// <summary>
/// A private ejabberd on loopback, started and stopped (by PID) through <c>scripts/ejabberd.sh</c>, on ports chosen here.
/// Its folder (Mnesia spool, node name) survives <see cref="StopAsync"/> so a restart keeps rooms and accounts.
/// </summary>
public sealed class EjabberdServer : IXmppTestServer
{
    private readonly TempDirectory _dir = new();
    private readonly Dictionary<string, string> _environment;

    private EjabberdServer(string domain, bool mucArchive)
    {
        Domain = domain;
        ComponentDomain = "bridge." + domain;
        MucDomain = "conference." + domain;
        C2sPort = FreePorts.Next();
        ComponentPort = FreePorts.Next();
        _environment = new Dictionary<string, string> { ["MUC_MAM"] = mucArchive ? "1" : "0" };
    }

    public string Domain { get; }
    public string ComponentDomain { get; }
    public string MucDomain { get; }
    public string Secret { get; } = "secret-" + Guid.NewGuid().ToString("N")[..8];
    public int C2sPort { get; }
    public int ComponentPort { get; }
    public bool IsRunning { get; private set; }
    public string Directory => _dir.Path;

    /// <summary>Starts a server for <paramref name="domain"/>; <paramref name="mucArchive"/> turns on MUC archiving (slow on Mnesia).</summary>
    public static async Task<EjabberdServer> StartAsync(string domain, bool mucArchive = false)
    {
        var server = new EjabberdServer(domain, mucArchive);
        try
        {
            await server.StartAgainAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    public async Task StartAgainAsync()
    {
        await ScriptRunner.RunAsync(RepoPaths.Script("ejabberd.sh"),
            ["start", _dir.Path, C2sPort.ToString(), ComponentPort.ToString(), Domain, ComponentDomain, Secret], _environment);
        IsRunning = true;
    }

    public async Task StopAsync()
    {
        if (IsRunning)
        {
            await ScriptRunner.RunAsync(RepoPaths.Script("ejabberd.sh"), ["stop", _dir.Path]);
            IsRunning = false;
        }
    }

    public Task RegisterAsync(string user, string password) =>
        ScriptRunner.RunAsync(RepoPaths.Script("ejabberd.sh"), ["register", _dir.Path, user, Domain, password]);

    public string Room(string name) => $"{name}@{MucDomain}";

    public string Log => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    private string LogPath => Path.Combine(_dir.Path, "logs", "ejabberd.log");

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
