using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Bridge.Testing;

namespace Bridge.Storm;

/// <summary>
/// The web server an XMPP person's files live on (what XEP-0363 upload gives a client: a plain HTTP URL), on loopback.
/// Every file's content is derived from its name, so each side can share the same small file without a store.
/// </summary>
internal sealed class FileHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FileHost(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>Ends with <c>/files/</c>: a file's URL is this plus its name.</summary>
    public Uri BaseUrl { get; }

    public static byte[] Content(string name) => System.Text.Encoding.UTF8.GetBytes($"storm file {name}\n");

    public static async Task<FileHost> StartAsync()
    {
        var port = FreePorts.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.MapGet("/files/{name}", (string name) => Results.Bytes(Content(name), "text/plain"));
        await app.StartAsync();
        return new FileHost(app, new Uri($"http://127.0.0.1:{port}/files/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
