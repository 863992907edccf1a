using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sandbox.Matrix.Tests;

/// <summary>A recording HTTP endpoint standing in for an appservice; the test decides each response status.</summary>
internal sealed class FakeAppservice : IAsyncDisposable
{
    private WebApplication? _app;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Status to answer for a request (default 200).</summary>
    public Func<RecordedRequest, int> Respond { get; set; } = _ => 200;

    public Uri Url { get; private set; } = new("http://127.0.0.1:1");

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Services.AddRouting();
        var app = builder.Build();
        app.Run(async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync(ctx.RequestAborted);
            var recorded = new RecordedRequest(ctx.Request.Method, ctx.Request.Path.Value ?? string.Empty,
                ctx.Request.QueryString.Value ?? string.Empty, ctx.Request.Headers.Authorization.ToString(), body);
            Requests.Enqueue(recorded);
            ctx.Response.StatusCode = Respond(recorded);
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("{}", ctx.RequestAborted);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Url = new Uri(address);
        _app = app;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}

internal sealed record RecordedRequest(string Method, string Path, string Query, string Authorization, string Body);
