using Bridge.Core.Audit;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using Bridge.Core.Security;
using Microsoft.Extensions.Configuration;

namespace Bridge.Host.Configuration;

/// <summary>Binds and validates the whole configuration. Used by <c>check-config</c> and at start by <c>run</c>.</summary>
internal static class SettingsReader
{
    public static (HostSettings? Settings, List<ConfigError> Errors) Read(IConfiguration configuration, IEnumerable<INetworkConnectorFactory> factories)
    {
        var factoryList = factories.ToList();
        // Unknown keys and malformed values first, in the bridge's words; a section with such a problem is not bound
        // again (the binder would only repeat it in its own wording).
        var errors = CheckKeys(configuration, factoryList).ToList();
        var (topology, topologyErrors) = TopologyReader.Read(configuration);
        errors.AddRange(topologyErrors);

        var database = HasProblem(errors, "database") ? null : ReadDatabase(configuration, errors);
        var delivery = Bind<DeliveryOptions>(configuration, "delivery", errors, static (s, o) => s.Bind(o));
        var limits = Bind<Bridge.Core.Delivery.Fairness.LimitsOptions>(configuration, "limits", errors, static (s, o) => s.Bind(o));
        var retention = Bind<Bridge.Core.Storage.Retention.RetentionOptions>(configuration, "retention", errors, static (s, o) => s.Bind(o));
        retention?.Validate(errors);
        limits?.Validate(errors);
        if (delivery is not null)
        {
            if (delivery.MaxAttempts < 1)
            {
                errors.Add(new ConfigError("delivery:maxAttempts", "must be at least 1"));
            }

            if (delivery.InitialBackoff <= TimeSpan.Zero)
            {
                errors.Add(new ConfigError("delivery:initialBackoff", "must be a positive duration such as 00:00:01"));
            }

            if (delivery.MaxBackoff < delivery.InitialBackoff)
            {
                errors.Add(new ConfigError("delivery:maxBackoff", "must not be shorter than delivery:initialBackoff"));
            }

            if (delivery.AttemptTimeout <= TimeSpan.Zero)
            {
                errors.Add(new ConfigError("delivery:attemptTimeout", "must be a positive duration"));
            }

            if (delivery.StopDrainTimeout < TimeSpan.Zero || delivery.StopDrainTimeout > TimeSpan.FromSeconds(25))
            {
                errors.Add(new ConfigError("delivery:stopDrainTimeout", "must be between 00:00:00 and 00:00:25 (the host stops within 30 s)"));
            }

            if (delivery.BatchSize is < 1 or > 10_000)
            {
                errors.Add(new ConfigError("delivery:batchSize", "must be between 1 and 10000"));
            }
        }

        var audit = Bind<AuditOptions>(configuration, "audit", errors, static (s, o) => s.Bind(o));
        var auditKeys = audit?.ReadKeys(errors) ?? AuditKeyRing.None;
        var secrets = ReadSecrets(database, errors);
        var warnings = new List<ConfigError>();
        if (database is not null && secrets is { HasKey: false })
        {
            warnings.Add(new ConfigError("database:secretsKey", database.AllowPlaintextSecrets
                ? "not set and allowPlaintextSecrets is true: puppets' access tokens are stored in plain text"
                : "not set: puppets' access tokens are not stored (minted again after each restart); set a key (openssl rand -base64 32)"));
        }

        if (audit is not null && auditKeys.Current is null)
        {
            warnings.Add(new ConfigError("audit:key", "not set: the audit trail is a plain hash chain, which whoever can write the database can rewrite undetected"));
        }
        var admin = Bind<AdminOptions>(configuration, "admin", errors, static (s, o) => s.Bind(o));
        var adminTokens = admin?.Validate(errors);
        var telemetry = Bind<TelemetryOptions>(configuration, "telemetry", errors, static (s, o) => s.Bind(o));
        var otlpEndpoint = telemetry?.Validate(errors);

        if (topology is not null)
        {
            var byKind = factoryList.ToDictionary(f => f.Kind);
            foreach (var network in topology.Networks)
            {
                if (!byKind.TryGetValue(network.Kind, out var factory))
                {
                    errors.Add(new ConfigError($"networks:{network.Id}:kind", $"this build has no connector for '{network.Kind}'"));
                    continue;
                }

                errors.AddRange(factory.Validate(network, configuration.GetSection($"networks:{network.Id}")));
            }
        }

        CompiledPolicy? policy = null;
        if (topology is not null)
        {
            var compiled = ReloadableSharingPolicy.Load(configuration, topology);
            errors.AddRange(compiled.Errors);
            policy = compiled.Policy;
        }

        var translation = Bind<Bridge.Core.Translation.TranslationOptions>(configuration, "translation", errors, static (s, o) => s.Bind(o));
        if (translation is not null && topology is not null)
        {
            errors.AddRange(Bridge.Core.Translation.TranslationSetup.Validate(translation, topology));
        }

        if (errors.Count > 0 || topology is null || policy is null || database is null || delivery is null || limits is null || retention is null || audit is null || admin is null || translation is null || telemetry is null)
        {
            return (null, errors);
        }

        var settings = new HostSettings
        {
            Policy = policy, Topology = topology, Database = database, Delivery = delivery, Limits = limits, Retention = retention, Audit = audit, Admin = admin,
            AuditKeys = auditKeys, Secrets = secrets ?? SecretProtector.None, Translation = translation,
            AdminTokens = adminTokens ?? Bridge.Host.Admin.Access.AdminTokens.None,
            Telemetry = telemetry, OtlpEndpoint = otlpEndpoint,
        };
        // One list of warnings, printed by check-config and logged by run.
        return (settings with { Warnings = [.. warnings, .. Warnings(settings)] }, errors);
    }

    /// <summary>
    /// Binds and validates only the <c>database:</c> section: what the audit verbs need, so that an operator can still
    /// export and verify the trail while the rest of the file (for example a policy the daemon refused) is broken.
    /// </summary>
    public static DatabaseOptions? ReadDatabase(IConfiguration configuration, List<ConfigError> errors)
    {
        // The audit verbs come here without the whole-file check: name unknown keys and bad values the same way.
        errors.AddRange(BridgeConfigSchema.DatabaseSchema.Check(configuration.GetSection("database")));
        var database = Bind<DatabaseOptions>(configuration, "database", errors, static (s, o) => s.Bind(o));
        if (database is not null)
        {
            switch (database.Provider.ToLowerInvariant())
            {
                case "sqlite":
                    if (string.IsNullOrWhiteSpace(database.Sqlite.Path))
                    {
                        errors.Add(new ConfigError("database:sqlite:path", "required: the path of the SQLite database file"));
                    }

                    if (database.Sqlite.Synchronous is not ("normal" or "full"))
                    {
                        errors.Add(new ConfigError("database:sqlite:synchronous", $"'{database.Sqlite.Synchronous}' is not allowed: use normal or full"));
                    }

                    break;
                case "postgres":
                    if (string.IsNullOrWhiteSpace(database.Postgres.ConnectionString))
                    {
                        errors.Add(new ConfigError("database:postgres:connectionString", "required when database:provider is postgres"));
                    }

                    if (Bridge.Core.Storage.Postgres.PostgresStoreOptions.LeaseProblem(database.Postgres.HeartbeatInterval, database.Postgres.LeaseDuration) is { } leaseProblem)
                    {
                        errors.Add(new ConfigError("database:postgres:leaseDuration", leaseProblem));
                    }

                    break;
                default:
                    errors.Add(new ConfigError("database:provider", $"'{database.Provider}' is not a store: use sqlite or postgres"));
                    break;
            }
        }

        return database;
    }

    /// <summary>
    /// Every unknown key (with the nearest valid one) and every malformed value in the whole configuration. Top-level
    /// keys that only environment variables set and that the bridge does not know (<c>BRIDGE_TEST_PG</c> and the like,
    /// meant for other tools sharing the prefix) are left alone; anything under a known section is checked wherever it comes from.
    /// </summary>
    public static IReadOnlyList<ConfigError> CheckKeys(IConfiguration configuration, IEnumerable<INetworkConnectorFactory> factories)
    {
        var files = (configuration as IConfigurationRoot)?.Providers.OfType<YamlConfigurationProvider>().ToList();
        var fileKeys = files is null
            ? null
            : files.SelectMany(p => p.GetChildKeys([], null)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return BridgeConfigSchema.Build(factories).CheckRoot(configuration, fileKeys is null ? null : key => !fileKeys.Contains(key));
    }

    /// <summary>
    /// What check-config should point out although it is allowed: with labels configured, a network without a clearance
    /// receives only the lowest label, which is rarely what an operator who forgot it meant; a SQLite store whose folder
    /// does not exist yet (created at start, so a first deployment learns where its data will live).
    /// </summary>
    public static IReadOnlyList<ConfigError> Warnings(HostSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var warnings = new List<ConfigError>();
        if (settings.Database.Provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase)
            && StoreFolderToCreate(settings.Database.Sqlite.Path) is { } folder)
        {
            warnings.Add(new ConfigError("database:sqlite:path", $"the folder '{folder}' does not exist: `bridge run` creates it (mode 0700)"));
        }

        var labels = settings.Policy.Labels;
        if (labels.IsEnabled)
        {
            warnings.AddRange(settings.Topology.Networks
                .Where(n => n.Clearance is null && !settings.Policy.HasClearance(n.Id))
                .Select(n => new ConfigError($"networks:{n.Id}:clearance",
                    $"not set: with labels configured this network is cleared for the lowest label ({labels.Names[labels.Lowest]}) only")));
        }

        return warnings;
    }

    private static string? StoreFolderToCreate(string? path)
    {
        if (string.IsNullOrWhiteSpace(path) || path == ":memory:" || path.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        return string.IsNullOrEmpty(folder) || Directory.Exists(folder) ? null : folder;
    }

    private static bool HasProblem(List<ConfigError> errors, string section) =>
        errors.Any(e => e.Key.Equals(section, StringComparison.OrdinalIgnoreCase) || e.Key.StartsWith(section + ":", StringComparison.OrdinalIgnoreCase));

    /// <summary>Only the audit keys (for the audit verbs); errors name the key.</summary>
    public static AuditKeyRing ReadAuditKeys(IConfiguration configuration, List<ConfigError> errors)
    {
        var audit = Bind<AuditOptions>(configuration, "audit", errors, static (s, o) => s.Bind(o));
        return audit?.ReadKeys(errors) ?? AuditKeyRing.None;
    }

    private static SecretProtector? ReadSecrets(DatabaseOptions? database, List<ConfigError> errors)
    {
        if (database is null)
        {
            return null;
        }

        var count = errors.Count;
        var key = KeyMaterial.Read(database.SecretsKey, database.SecretsKeyFile, "database:secretsKey", "database:secretsKeyFile", SecretProtector.KeyBytes, errors);
        if (key is not null && key.Length != SecretProtector.KeyBytes)
        {
            errors.Add(new ConfigError(database.SecretsKeyFile is { Length: > 0 } ? "database:secretsKeyFile" : "database:secretsKey",
                $"is {key.Length} bytes; an AES-256 key is exactly {SecretProtector.KeyBytes} (openssl rand -base64 32)"));
            return null;
        }

        return errors.Count > count ? null : new SecretProtector(key, database.AllowPlaintextSecrets);
    }


    /// <summary>Binds a section whose keys and values <see cref="CheckKeys"/> has already checked.</summary>
    /// <param name="bind">
    /// The binder's call, written where <typeparamref name="T"/> is a known type (<c>static (s, o) => s.Bind(o)</c>), so
    /// that the configuration binding source generator (on in trimmed and Native AOT builds) replaces it with code for that type.
    /// </param>
    private static T? Bind<T>(IConfiguration configuration, string section, List<ConfigError> errors, Action<IConfiguration, T> bind)
        where T : class, new()
    {
        if (HasProblem(errors, section))
        {
            return null;
        }

        var options = new T();
        try
        {
            bind(configuration.GetSection(section), options);
            return options;
        }
        catch (InvalidOperationException)
        {
            // Not expected after CheckKeys; the binder's own wording is not for operators.
            errors.Add(new ConfigError(section, "cannot be read: a value there does not have the expected form"));
            return null;
        }
    }
}
