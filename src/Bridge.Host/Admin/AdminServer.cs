using Bridge.Core.Connectors;
using Bridge.Core.Storage;
using Bridge.Core.Storage.Health;
using Bridge.Core.Telemetry;
using Bridge.Host.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Bridge.Host.Admin;

/// <summary>
/// The operator's HTTP API on its own Kestrel (loopback by default): <c>/healthz</c> (200 when every connector is ready
/// and no network makes deliveries wait; otherwise 503 naming, per network, how many wait and why),
/// <c>/status</c> (connectors, queue depths), <c>/deadletters</c> and <c>/metrics</c> (Prometheus).
/// </summary>
internal sealed class AdminServer(AdminOptions options, ConnectorRegistry connectors, IBridgeStore store, StoreHealth storeHealth, ILoggerFactory loggerFactory,
    Bridge.Core.Translation.TranslationHealth? translation = null, Bridge.Core.Delivery.Waits.NetworkWaits? waits = null) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.UseUrls(options.Listen);
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        // Meters are process-wide: this provider sees the bridge's instruments and the runtime's.
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(BridgeMetrics.MeterName, "System.Runtime", "Microsoft.AspNetCore.Server.Kestrel")
            .AddPrometheusExporter());
        var app = builder.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", async (CancellationToken ct) =>
        {
            // A connector is unhealthy when it cannot deliver, delivers less than the configuration asks (its reason is
            // shown), or its network makes deliveries wait (rate limited, server errors): then how many wait and why.
            var problems = new List<string>();
            foreach (var c in connectors.All)
            {
                var wait = waits?.Current(c.NetworkId);
                if (!c.IsReady || wait is not null)
                {
                    var why = wait?.Describe() ?? "not connected";
                    problems.Add($"{c.NetworkId}: {await PendingAsync(c.NetworkId, ct)} waiting, {why}");
                }

                if (c.DegradedReason is { } reason)
                {
                    problems.Add($"{c.NetworkId} ({reason})");
                }
            }

            if (storeHealth.Problem is { } storeProblem)
            {
                // Nothing new is acknowledged while the store refuses writes: say so first.
                problems.Insert(0, storeProblem);
            }

            // A translation engine that is out does not stop delivery (originals go through), but the operator must see it.
            problems.AddRange(translation?.Problems ?? []);
            return problems.Count == 0
                ? Results.Text("ok\n")
                : Results.Text("degraded: " + string.Join(", ", problems) + "\n", statusCode: 503);
        });
        app.MapGet("/status", async (CancellationToken ct) =>
        {
            var list = new List<object>();
            foreach (var c in connectors.All)
            {
                list.Add(new { network = c.NetworkId, kind = c.Kind.ToString().ToLowerInvariant(), ready = c.IsReady, degraded = c.DegradedReason, pending = await store.CountPendingAsync(c.NetworkId, ct) });
            }

            return Results.Json(new { connectors = list });
        });
        app.MapGet("/deadletters", async (CancellationToken ct) => Results.Json(await store.GetDeadLettersAsync(200, ct)));
        await app.StartAsync(cancellationToken);
        _app = app;
        loggerFactory.CreateLogger<AdminServer>().LogInformation(new EventId(900, "AdminListening"), "Admin API listening on {Url}", options.Listen);
    }

    /// <summary>Rows waiting toward a network; "?" when the store cannot say (health must answer even then).</summary>
    private async Task<string> PendingAsync(string network, CancellationToken ct)
    {
        try
        {
            return (await store.CountPendingAsync(network, ct)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            return "?";
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
