namespace Bridge.Xmpp.Tests.Fixtures;

/// <summary>
/// An xunit class fixture around one of Bridge.Testing's private servers (domain <c>localhost</c>, component
/// <c>bridge.localhost</c>): started once per test class, stopped by PID and removed afterwards.
/// </summary>
public abstract class XmppServerFixture<TServer> : IAsyncLifetime
    where TServer : class, IXmppTestServer
{
    private TServer? _server;

    public TServer Server => _server ?? throw new InvalidOperationException("the server fixture is not initialised");

    public async Task InitializeAsync() => _server = await StartServerAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    protected abstract Task<TServer> StartServerAsync();
}

/// <summary>Prosody with MUC room locking on, as in real deployments (the bridge must send the instant-room form).</summary>
public sealed class ProsodyFixture : XmppServerFixture<ProsodyServer>
{
    protected override Task<ProsodyServer> StartServerAsync() => ProsodyServer.StartAsync("localhost", roomLocking: true);
}

/// <summary>Prosody with its XEP-0363 upload service (<c>mod_http_file_share</c>) on a loopback port, taking files up to 64 KiB.</summary>
public sealed class ProsodyUploadFixture : XmppServerFixture<ProsodyServer>
{
    public const long SizeLimit = 64 * 1024;

    protected override Task<ProsodyServer> StartServerAsync() => ProsodyServer.StartAsync("localhost", roomLocking: true, httpUpload: true, uploadSizeLimit: SizeLimit);
}

/// <summary>ejabberd through <c>scripts/ejabberd.sh</c>, MUC archive off (slow on Mnesia; no stanza-ids).</summary>
public sealed class EjabberdFixture : XmppServerFixture<EjabberdServer>
{
    protected override Task<EjabberdServer> StartServerAsync() => EjabberdServer.StartAsync("localhost", mucArchive: false);
}

/// <summary>ejabberd with its XEP-0363 upload service (<c>mod_http_upload</c>, access: local users and the bridge's component).</summary>
public sealed class EjabberdUploadFixture : XmppServerFixture<EjabberdServer>
{
    protected override Task<EjabberdServer> StartServerAsync() => EjabberdServer.StartAsync("localhost", mucArchive: false, httpUpload: true);
}
