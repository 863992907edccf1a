using Bridge.Core.Connectors;
using Bridge.Core.Storage;
using Bridge.Core.Storage.Health;
using Bridge.Core.Telemetry;
using Bridge.Host.Admin.Access;
using Bridge.Host.Composition;
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
internal sealed class AdminServer(AdminOptions options, AdminTokens tokens, ConnectorRegistry connectors, IBridgeStore store, StoreHealth storeHealth, ILoggerFactory loggerFactory,
    InstanceRole role, BridgeMetrics metrics, IHostApplicationLifetime lifetime, TimeProvider time,
    Bridge.Core.Configuration.BridgeTopology topology, Bridge.Core.Links.LinkManager links, Bridge.Core.Delivery.DeliverySignals signals,
    Bridge.Core.Translation.TranslationHealth? translation = null, Bridge.Core.Delivery.Waits.NetworkWaits? waits = null, Console.ConsoleSources? console = null,
    Bridge.Core.Direct.DirectPortalRegistry? portals = null)
    : IHostedService, IAsyncDisposable
{
    /// <summary>Points (tag combinations) each metric stream holds; see where the metrics are set up.</summary>
    internal const int MetricPointsPerStream = 200;

    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        // The daemon's host owns the process lifetime (signals, start/stop lines): this embedded app must not print its
        // own "Application started" lines nor handle SIGTERM a second time.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedAppLifetime>();
        builder.WebHost.UseUrls(options.Listen);
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        // Answers name their JsonTypeInfo (AdminJsonContext); anything that still asks the framework's options for one
        // finds the generated context first, never the reflection-based resolver that Native AOT does not have.
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, AdminJsonContext.Default));
        // Meters are process-wide: this provider sees the bridge's instruments and the runtime's.
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(BridgeMetrics.MeterName, "System.Runtime", "Microsoft.AspNetCore.Server.Kestrel")
            // Every metric stream allocates its points up front, as many as this limit (the SDK's default, 2,000, made
            // 34 arrays of 144 KB on the large object heap: 4.9 MB held for the process's life). The bridge's
            // instruments are tagged by network, stage, outcome or engine, the runtime's and Kestrel's by a few fixed
            // values: far below this. Combinations past it are still counted, in the SDK's overflow point.
            // (A view with a limit only: a histogram's bucket bounds still come from its instrument's advice.)
            .AddView(_ => new MetricStreamConfiguration { CardinalityLimit = MetricPointsPerStream })
            .AddPrometheusExporter());
        var app = builder.Build();
        var access = new AdminAccess(tokens, store, loggerFactory.CreateLogger<AdminServer>(), time);
        console?.MapTo(app); // the web console: its page before the token check (the page asks for the token), its JSON after
        app.Use(access.InvokeAsync);
        app.MapPrometheusScrapingEndpoint("/metrics");
        metrics.ObserveLeader(() => role.Current.Kind is InstanceRoleKind.Active or InstanceRoleKind.Single ? 1 : 0);
        app.MapGet("/healthz", async (CancellationToken ct) =>
        {
            // A standby is healthy as a standby: it delivers nothing, by design, until the active instance goes.
            var (kind, _, holder) = role.Current;
            if (kind == InstanceRoleKind.Standby)
            {
                return Results.Text($"standby: the leader lease is held by {holder ?? "another bridge process"}\n");
            }

            if (kind == InstanceRoleKind.Deposed)
            {
                return Results.Text("deposed: lost the leader lease, stopping\n", statusCode: 503);
            }

            // The API starts before the connectors (so that a standby serves it): until they have started, there is
            // nothing to call healthy.
            if (!lifetime.ApplicationStarted.IsCancellationRequested)
            {
                return Results.Text("starting\n", statusCode: 503);
            }

            // A connector is unhealthy when it cannot deliver, delivers less than the configuration asks (its reason is
            // shown), or its network makes deliveries wait (rate limited, server errors): then how many wait and why.
            var problems = new List<string>();
            foreach (var c in connectors.All)
            {
                var wait = waits?.Current(c.NetworkId);
                if (!c.IsReady || wait is not null)
                {
                    var why = wait?.Describe() ?? "not connected";
                    var pending = await PendingAsync(c.NetworkId, ct);
                    problems.Add($"{c.NetworkId}: {(pending is { } n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?")} waiting, {why}");
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
            var list = new List<StatusConnectorView>();
            foreach (var c in connectors.All)
            {
                list.Add(new StatusConnectorView(c.NetworkId, c.Kind.ToString().ToLowerInvariant(), c.IsReady, c.DegradedReason, await PendingAsync(c.NetworkId, ct)));
            }

            return Results.Json(new StatusView(InstanceView.Of(role), list), AdminJsonContext.Default.StatusView);
        });
        var gate = new Api.ChangeGate(role, lifetime, loggerFactory.CreateLogger<AdminServer>());
        Api.LinkApi.Map(app, topology, links, gate);
        Api.OperationsApi.Map(app, store, connectors, signals, gate, time);
        if (portals is not null)
        {
            Api.DirectApi.Map(app, portals, topology);
        }
        app.MapGet("/deadletters", async (CancellationToken ct) => Results.Json(await store.GetDeadLettersAsync(200, ct), AdminJsonContext.Default.IReadOnlyListDeadLetter));
        await app.StartAsync(cancellationToken);
        _app = app;
        loggerFactory.CreateLogger<AdminServer>().LogInformation(AdminLog.Listening, "Admin API listening on {Url} ({Tokens})", options.Listen,
            tokens.IsEmpty ? "no token configured: reads only, no changes" : "bearer tokens required");
    }

    /// <summary>Rows waiting toward a network, or null while the store cannot say (not open yet at start, or refusing): health must answer even then.</summary>
    private async Task<int?> PendingAsync(string network, CancellationToken cancellationToken)
    {
        try
        {
            return await store.CountPendingAsync(network, cancellationToken);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
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

/// <summary><c>/status</c>: this instance and its connectors.</summary>
internal sealed record StatusView(InstanceView Instance, List<StatusConnectorView> Connectors);

internal sealed record StatusConnectorView(string Network, string Kind, bool Ready, string? Degraded, int? Pending);

/// <summary>This instance as <c>/status</c> and the console's overview show it: its role, since when, and who holds the lease.</summary>
internal sealed record InstanceView(string Name, string Role, DateTimeOffset Since, string? Holder)
{
    public static InstanceView Of(InstanceRole role)
    {
        var (kind, since, holder) = role.Current;
        return new InstanceView(role.InstanceName, kind.ToString().ToLowerInvariant(), since, holder);
    }
}

/// <summary>The lifetime of an app hosted inside the daemon: it waits for nothing and prints nothing; the daemon's host stops it.</summary>
internal sealed class EmbeddedAppLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
