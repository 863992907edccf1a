namespace Bridge.Xmpp.Tests.Fixtures;

/// <summary>
/// A private Prosody on 127.0.0.1 (free ports, own directory) started through <c>scripts/prosody.sh</c>; use as an
/// xunit class fixture. Room locking is on unless <see cref="RoomLocking"/> is false before start.
/// </summary>
/// <remarks>Copy-friendly: depends only on <see cref="RepoPaths"/>, <see cref="FreePort"/> and <see cref="ProcessRunner"/>.</remarks>
public class ProsodyServer : IAsyncLifetime
{
    public ProsodyServer()
        : this("localhost", "bridge.localhost", "secret")
    {
    }

    protected ProsodyServer(string domain, string componentDomain, string secret)
    {
        Domain = domain;
        ComponentDomain = componentDomain;
        Secret = secret;
        Directory = Path.Combine(Path.GetTempPath(), "bridge-prosody-" + Guid.NewGuid().ToString("N")[..12]);
    }

    public string Directory { get; }

    public string Domain { get; }

    public string ComponentDomain { get; }

    public string Secret { get; }

    public string MucDomain => "conference." + Domain;

    public int ClientPort { get; private set; }

    public int ComponentPort { get; private set; }

    public bool RoomLocking { get; init; } = true;

    public bool IsRunning { get; private set; }

    public async Task InitializeAsync()
    {
        ClientPort = FreePort.Next();
        ComponentPort = FreePort.Next();
        await StartAsync();
    }

    /// <summary>Starts (again) on the same ports and directory; data (rooms, archives, accounts) survive a restart.</summary>
    public async Task StartAsync()
    {
        await ProcessRunner.RunAsync("bash",
            [RepoPaths.ProsodyScript, "start", Directory, ClientPort.ToString(), ComponentPort.ToString(), Domain, ComponentDomain, Secret],
            TimeSpan.FromMinutes(3),
            ScriptEnvironment());
        IsRunning = true;
    }

    /// <summary>Environment for <c>scripts/prosody.sh start</c> (a subclass can run ejabberd with <c>EJABBERD=1</c>).</summary>
    protected virtual Dictionary<string, string> ScriptEnvironment() => new() { ["MUC_ROOM_LOCKING"] = RoomLocking ? "1" : "0" };

    public async Task StopAsync()
    {
        await ProcessRunner.RunAsync("bash", [RepoPaths.ProsodyScript, "stop", Directory], TimeSpan.FromSeconds(30));
        IsRunning = false;
    }

    public Task RegisterAsync(string user, string password) =>
        ProcessRunner.RunAsync("bash", [RepoPaths.ProsodyScript, "register", Directory, user, Domain, password], TimeSpan.FromSeconds(30));

    /// <summary>Registers a fresh account and returns its bare JID.</summary>
    public async Task<string> NewUserAsync(string prefix, string password = "pass")
    {
        var user = $"{prefix}{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 8, 40)].ToLowerInvariant();
        await RegisterAsync(user, password);
        return $"{user}@{Domain}";
    }

    public string NewRoom(string prefix = "room") => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)] + "@" + MucDomain;

    public string Log => File.Exists(Path.Combine(Directory, "prosody.log")) ? File.ReadAllText(Path.Combine(Directory, "prosody.log")) : "";

    public async Task DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}

/// <summary>The same, with ejabberd (<c>EJABBERD=1 scripts/prosody.sh</c>; its MUC archive is off, as in the notes).</summary>
public sealed class EjabberdServer : ProsodyServer
{
    public EjabberdServer()
        : base("localhost", "bridge.localhost", "secret")
    {
    }

    protected override Dictionary<string, string> ScriptEnvironment() => new() { ["EJABBERD"] = "1" };
}
