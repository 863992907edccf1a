using Bridge.Core.Audit;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using Bridge.Core.Runtime;
using Bridge.Core.Storage;
using Bridge.Core.Storage.Health;
using Bridge.Core.Storage.Postgres;
using Bridge.Core.Storage.Sqlite;
using Bridge.Core.Telemetry;
using Bridge.Host.Admin;
using Bridge.Host.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;

namespace Bridge.Host.Composition;

/// <summary>The composition root: one place where every service is wired.</summary>
internal static class BridgeHostFactory
{
    /// <summary>The connector factories this build ships, one per network kind.</summary>
    public static IReadOnlyList<INetworkConnectorFactory> ConnectorFactories() => ConnectorCatalog.All();

    /// <summary>The generic host's own log category (start and stop failures).</summary>
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    public static IHost Build(IConfigurationRoot configuration, HostSettings settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddConfiguration(configuration);
        // ASP.NET Core (the admin API) logs every request at Information: a health probe every few seconds would flood the
        // log. Warning by default; an operator's logging:logLevel entry (added after this rule) still overrides it.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddConfiguration(configuration.GetSection("logging"));
        // A standby waits for the lease inside the host's start; SIGTERM then cancels that start and the host logs
        // "Hosting failed to start" as an error, though stopping a standby is a normal, clean stop (exit 0). Only while
        // the role is standby, and only that category's errors: everything else, and the same errors of an active
        // instance, are logged as always. The role exists before the container for this filter to read it.
        var role = new InstanceRole(TimeProvider.System);
        builder.Logging.AddFilter(HostCategory, level => level < LogLevel.Error || role.Current.Kind != InstanceRoleKind.Standby);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.AddSystemd();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        var services = builder.Services;
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton(configuration);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(settings.Topology);
        services.AddSingleton(settings.Delivery);
        services.AddSingleton(settings.Limits);
        services.AddSingleton(settings.Retention);
        services.AddSingleton(settings.Audit);
        services.AddSingleton(settings.Admin);
        services.AddSingleton(settings.AdminTokens);
        services.AddSingleton<DeliverySignals>();
        services.AddSingleton<BridgeMetrics>();
        if (settings.OtlpEndpoint is { } otlp)
        {
            // Spans only where an operator asked for them: without a listener the stages' activities are never created.
            services.AddOpenTelemetry().WithTracing(tracing => tracing
                .AddSource(BridgeTracing.SourceName)
                .AddOtlpExporter(o =>
                {
                    o.Protocol = OtlpExportProtocol.HttpProtobuf;
                    o.Endpoint = new Uri(otlp, "v1/traces");
                    o.BatchExportProcessorOptions.ScheduledDelayMilliseconds = (int)settings.Telemetry.ExportInterval.TotalMilliseconds;
                }));
        }
        services.AddSingleton<ConnectorRegistry>();
        services.AddSingleton<StoreHealth>();
        services.AddSingleton(sp => new Bridge.Core.Delivery.Waits.NetworkWaits(sp.GetRequiredService<TimeProvider>()));
        // One fence per process: the leader lease (PostgreSQL) writes it, the store checks its epoch in every commit and
        // the delivery workers send only while it allows. With SQLite there is no lease and it never blocks.
        var leased = settings.Database.Provider.Equals("postgres", StringComparison.OrdinalIgnoreCase);
        services.AddSingleton(sp => new LeaderFence(sp.GetRequiredService<TimeProvider>(), leased));
        services.AddSingleton<IBridgeStore>(sp => new HealthReportingStore(
            StoreFactory.Create(settings.Database, sp.GetRequiredService<ILoggerFactory>(), settings.AuditKeys, sp.GetRequiredService<LeaderFence>()),
            sp.GetRequiredService<StoreHealth>()));
        services.AddSingleton(settings.Secrets);
        services.AddSingleton<IConnectorStateStore>(sp => sp.GetRequiredService<IBridgeStore>());
        services.AddSharingPolicy(settings.Policy, settings.Topology);
        services.AddHostedService<ConfigurationReloadFailures>();
        services.AddSingleton(new Bridge.Core.Translation.TranslationHealth());
        if (settings.Translation.Enabled)
        {
            services.AddSingleton(sp => new Bridge.Core.Translation.TranslationStage(
                settings.Translation, settings.Topology,
                Bridge.Core.Translation.TranslationSetup.CreateEngines(settings.Translation, sp.GetRequiredService<ILoggerFactory>()),
                sp.GetRequiredService<IBridgeStore>(),
                () => sp.GetRequiredService<ISharingPolicy>() is ReloadableSharingPolicy r ? r.Current.Labels.Classifier : settings.Policy.Labels.Classifier,
                sp.GetRequiredService<Bridge.Core.Translation.TranslationHealth>(),
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("Bridge.Translation"),
                sp.GetRequiredService<BridgeMetrics>()));
        }

        services.AddSingleton(sp => new Bridge.Core.Links.LinkManager(settings.Topology, (IAdminStore)sp.GetRequiredService<IBridgeStore>(),
            sp.GetRequiredService<ConnectorRegistry>(), sp.GetRequiredService<DeliverySignals>(),
            sp.GetRequiredService<ILogger<Bridge.Core.Links.LinkManager>>(), sp.GetRequiredService<TimeProvider>())
        {
            Portals = () => sp.GetRequiredService<Bridge.Core.Direct.DirectPortalRegistry>().All.Select(p => p.ToLink()),
        });
        // Given the store itself: resolving IConnectorStateStore would make the container dispose the store a second time.
        services.AddSingleton(sp => new Bridge.Core.Direct.DirectPortalRegistry(sp.GetRequiredService<IBridgeStore>(),
            sp.GetRequiredService<ILogger<Bridge.Core.Direct.DirectPortalRegistry>>()));
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<Bridge.Core.Direct.DirectMessages>(sp));
        services.AddSingleton<BridgeRouter>();
        services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<BridgeRouter>());
        foreach (var factory in ConnectorFactories())
        {
            services.AddSingleton(factory);
        }

        services.AddSingleton(role);
        services.AddSingleton<SystemdNotify>();

        // Hosted services start in order. The admin API first, so that a standby serves it too; then the gate, so that
        // nothing else runs until the lease is held.
        if (settings.Admin.Listen.Length > 0)
        {
            services.AddSingleton(sp => ActivatorUtilities.CreateInstance<Admin.Console.ConsoleSources>(sp, settings.AuditKeys));
            services.AddHostedService<AdminServer>();
        }

        if (leased)
        {
            services.AddSingleton(sp => new PostgresLeaderLease(
                settings.Database.Postgres.ToStoreOptions(), sp.GetRequiredService<ILogger<PostgresLeaderLease>>(),
                instanceName: sp.GetRequiredService<InstanceRole>().InstanceName, fence: sp.GetRequiredService<LeaderFence>()));
            services.AddHostedService<LeadershipGate>();
        }

        services.AddHostedService<BridgeRuntime>();

        // After the runtime, which migrates the schema; only where the runtime runs (behind the gate when leased).
        services.AddHostedService<Bridge.Core.Storage.Retention.RetentionWorker>();
        services.AddHostedService<IdleMemoryRelease>();
        services.AddSingleton<INativeHeap, GlibcHeap>();
        services.AddHostedService<NativeHeapTrim>();

        return builder.Build();
    }
}

/// <summary>Creates the configured store.</summary>
internal static class StoreFactory
{
    /// <param name="fence">The leader lease's fence (PostgreSQL with several processes); null for a tool that runs alone.</param>
    public static IBridgeStore Create(DatabaseOptions options, ILoggerFactory loggerFactory, AuditKeyRing? auditKeys = null, LeaderFence? fence = null) => options.Provider.ToLowerInvariant() switch
    {
        "sqlite" => new SqliteBridgeStore(options.Sqlite, loggerFactory.CreateLogger<SqliteBridgeStore>(), auditKeys: auditKeys),
        "postgres" => new PostgresBridgeStore(options.Postgres.ToStoreOptions(), loggerFactory.CreateLogger<PostgresBridgeStore>(), auditKeys: auditKeys, fence: fence),
        _ => throw new InvalidOperationException($"database:provider '{options.Provider}' is not available in this build"),
    };
}
