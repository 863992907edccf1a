namespace Bridge.Testing;

/// <summary>
/// A private XMPP server on loopback (Prosody or ejabberd) with a MUC service and one XEP-0114 component,
/// so tests, benchmarks and the demo can run the same scenario against either implementation.
/// </summary>
public interface IXmppTestServer : IAsyncDisposable
{
    /// <summary>The server's only virtual host, where people have accounts.</summary>
    string Domain { get; }

    /// <summary>The component domain the bridge connects as.</summary>
    string ComponentDomain { get; }

    string MucDomain { get; }

    /// <summary>The component secret.</summary>
    string Secret { get; }

    int C2sPort { get; }

    int ComponentPort { get; }

    /// <summary>The XEP-0363 upload service's HTTP port, when the server was started with one.</summary>
    int? UploadPort { get; }

    /// <summary>The upload service's domain (disco'd by clients and the bridge).</summary>
    string UploadDomain { get; }

    /// <summary>host:port of the upload service's HTTP listener, or null without one (what the bridge lists in fileHosts).</summary>
    string? UploadHost { get; }

    bool IsRunning { get; }

    /// <summary>The server's own folder (configuration, data, logs).</summary>
    string Directory { get; }

    /// <summary>The server's main log so far, for failure messages.</summary>
    string Log { get; }

    /// <summary>Starts the server again on the same ports with the same data, after <see cref="StopAsync"/>.</summary>
    Task StartAgainAsync();

    /// <summary>Stops the server by PID; data survives for <see cref="StartAgainAsync"/>.</summary>
    Task StopAsync();

    /// <summary>Creates an account on <see cref="Domain"/>.</summary>
    Task RegisterAsync(string user, string password);

    /// <summary>The full JID of a room on the MUC service.</summary>
    string Room(string name);
}
