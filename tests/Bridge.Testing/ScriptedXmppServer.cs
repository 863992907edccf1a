namespace Bridge.Testing;

/// <summary>
/// A private XMPP server on loopback driven by one of the repository's scripts (<c>start DIR C2S COMPONENT DOMAIN
/// COMPONENT_DOMAIN SECRET</c>, <c>stop DIR</c>, <c>register DIR USER DOMAIN PASSWORD</c>), on ports chosen here.
/// Its folder survives <see cref="StopAsync"/> so a restart keeps rooms and accounts.
/// </summary>
public abstract class ScriptedXmppServer : IXmppTestServer
{
    private readonly TempDirectory _dir = new();
    private readonly string _script;
    private readonly Dictionary<string, string> _environment;
    private readonly string _logFile;

    /// <param name="domain">The only virtual host; the component is <c>bridge.DOMAIN</c>, the MUC service <c>conference.DOMAIN</c>.</param>
    /// <param name="script">The script's file name under <c>scripts/</c>.</param>
    /// <param name="environment">Extra environment for <c>start</c> (server options).</param>
    /// <param name="logFile">The server's main log, relative to its folder.</param>
    protected ScriptedXmppServer(string domain, string script, Dictionary<string, string> environment, string logFile)
    {
        Domain = domain;
        ComponentDomain = "bridge." + domain;
        MucDomain = "conference." + domain;
        C2sPort = FreePorts.Next();
        ComponentPort = FreePorts.Next();
        _script = RepoPaths.Script(script);
        _environment = environment;
        _logFile = logFile;
    }

    public string Domain { get; }

    /// <summary>The loopback port of the XEP-0363 upload service (<c>upload.DOMAIN</c>), when the server was started with one.</summary>
    public int? UploadPort { get; protected init; }

    /// <summary>The upload service's JID.</summary>
    public string UploadDomain => "upload." + Domain;

    /// <summary>The host:port its URLs name (what the bridge's <c>fileHosts</c> lists).</summary>
    public string? UploadHost => UploadPort is { } port ? $"127.0.0.1:{port}" : null;
    public string ComponentDomain { get; }
    public string MucDomain { get; }
    public string Secret { get; } = "secret-" + Guid.NewGuid().ToString("N")[..8];
    public int C2sPort { get; }
    public int ComponentPort { get; }
    public bool IsRunning { get; private set; }
    public string Directory => _dir.Path;

    public string Log => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    private string LogPath => Path.Combine(_dir.Path, _logFile);

    public async Task StartAgainAsync()
    {
        await ScriptRunner.RunAsync(_script,
            ["start", _dir.Path, C2sPort.ToString(), ComponentPort.ToString(), Domain, ComponentDomain, Secret], _environment);
        IsRunning = true;
    }

    public async Task StopAsync()
    {
        if (IsRunning)
        {
            await ScriptRunner.RunAsync(_script, ["stop", _dir.Path]);
            IsRunning = false;
        }
    }

    public Task RegisterAsync(string user, string password) =>
        ScriptRunner.RunAsync(_script, ["register", _dir.Path, user, Domain, password]);

    public string Room(string name) => $"{name}@{MucDomain}";

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

    /// <summary>Starts <paramref name="server"/>; if that fails, its folder (and any half-started process) is released.</summary>
    protected static async Task<T> StartNewAsync<T>(T server)
        where T : ScriptedXmppServer
    {
        ArgumentNullException.ThrowIfNull(server);
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
}
