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
        var errors = new List<ConfigError>();
        var (topology, topologyErrors) = TopologyReader.Read(configuration);
        errors.AddRange(topologyErrors);

        var database = ReadDatabase(configuration, errors);
        var delivery = Bind<DeliveryOptions>(configuration, "delivery", errors);
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

            if (delivery.BatchSize is < 1 or > 10_000)
            {
                errors.Add(new ConfigError("delivery:batchSize", "must be between 1 and 10000"));
            }
        }

        var audit = Bind<AuditOptions>(configuration, "audit", errors);
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
        var admin = Bind<AdminOptions>(configuration, "admin", errors);
        if (admin is not null && admin.Listen.Length > 0 &&
            (!Uri.TryCreate(admin.Listen, UriKind.Absolute, out var adminUri) || adminUri.Scheme is not ("http" or "https")))
        {
            errors.Add(new ConfigError("admin:listen", $"'{admin.Listen}' is not an http(s) URL such as http://127.0.0.1:9480"));
        }

        if (topology is not null)
        {
            var byKind = factories.ToDictionary(f => f.Kind);
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

        if (errors.Count > 0 || topology is null || policy is null || database is null || delivery is null || audit is null || admin is null)
        {
            return (null, errors);
        }

        return (new HostSettings
        {
            Policy = policy, Topology = topology, Database = database, Delivery = delivery, Audit = audit, Admin = admin,
            AuditKeys = auditKeys, Secrets = secrets ?? SecretProtector.None, Warnings = warnings,
        }, errors);
    }

    /// <summary>
    /// Binds and validates only the <c>database:</c> section: what the audit verbs need, so that an operator can still
    /// export and verify the trail while the rest of the file (for example a policy the daemon refused) is broken.
    /// </summary>
    public static DatabaseOptions? ReadDatabase(IConfiguration configuration, List<ConfigError> errors)
    {
        var database = Bind<DatabaseOptions>(configuration, "database", errors);
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

                    break;
                default:
                    errors.Add(new ConfigError("database:provider", $"'{database.Provider}' is not a store: use sqlite or postgres"));
                    break;
            }
        }

        return database;
    }

    /// <summary>Only the audit keys (for the audit verbs); errors name the key.</summary>
    public static AuditKeyRing ReadAuditKeys(IConfiguration configuration, List<ConfigError> errors)
    {
        var audit = Bind<AuditOptions>(configuration, "audit", errors);
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

    /// <summary>Binds a section, turning binder failures (a word where a number belongs) into an error naming the key.</summary>
    private static T? Bind<T>(IConfiguration configuration, string section, List<ConfigError> errors)
        where T : class, new()
    {
        var options = new T();
        try
        {
            configuration.GetSection(section).Bind(options, o => o.ErrorOnUnknownConfiguration = true);
            return options;
        }
        catch (InvalidOperationException ex)
        {
            var message = ex.InnerException?.Message ?? ex.Message;
            if (section is "audit" or "database")
            {
                // These sections hold keys and connection strings: the binder's wording quotes the value.
                message = System.Text.RegularExpressions.Regex.Replace(message, "value '.*' at '", "value (not shown) at '", System.Text.RegularExpressions.RegexOptions.Singleline);
            }

            errors.Add(new ConfigError(KeyFromBinderMessage(ex, section), message));
            return null;
        }
    }

    private static string KeyFromBinderMessage(InvalidOperationException ex, string section)
    {
        // "Failed to convert configuration value 'x' at 'delivery:maxAttempts' to type ..." names the path;
        // "'Foo' was not found on type ..." (unknown keys) names the property only.
        var at = System.Text.RegularExpressions.Regex.Match(ex.Message, " at '([^']+)'");
        if (at.Success)
        {
            return at.Groups[1].Value;
        }

        var unknown = System.Text.RegularExpressions.Regex.Match(ex.Message, "^'([^']+)' was not found");
        return unknown.Success ? $"{section}:{unknown.Groups[1].Value}" : section;
    }
}
