using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sandbox.Matrix.Appservices;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Media;
using Sandbox.Matrix.Rooms;
using Sandbox.Matrix.Sync;
using Sandbox.Matrix.Users;

namespace Sandbox.Matrix.Hosting;

/// <summary>Builds one Kestrel application around a (longer-lived) <see cref="Homeserver"/>.</summary>
internal static class SandboxApp
{
    public static WebApplication Build(Homeserver homeserver, int port, bool consoleLogging)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "Sandbox.Matrix" });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Parse(homeserver.Options.BindAddress), port);
        });
        // Nagle's algorithm adds ~40 ms to small request/response exchanges on loopback.
        builder.WebHost.UseSockets(sockets => sockets.NoDelay = true);
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (consoleLogging)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        }

        builder.Services.AddRouting();
        builder.Services.AddSingleton(homeserver);
        // Signals are handled by the owner (Program or the test), never by this embedded application.
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, EmbeddedLifetime>();

        var app = builder.Build();
        app.UseMiddleware<ErrorMiddleware>();
        // Test-only fault injection, after the error middleware so the failure has the spec's JSON shape.
        app.Use((context, next) =>
        {
            homeserver.Faults.Check(context.Request);
            return next(context);
        });
        app.UseRouting();
        AccountEndpoints.Map(app);
        RoomEndpoints.Map(app);
        SyncEndpoints.Map(app);
        MediaEndpoints.Map(app, homeserver.Options);
        PingEndpoints.Map(app);
        return app;
    }
}
