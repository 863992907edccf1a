using Bridge.Core.Audit;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using Bridge.Core.Security;
using Bridge.Core.Storage.Sqlite;

namespace Bridge.Host.Configuration;

/// <summary>Everything the host needs from configuration, validated before anything starts.</summary>
internal sealed record HostSettings
{
    public required BridgeTopology Topology { get; init; }
    public required CompiledPolicy Policy { get; init; }
    public required DatabaseOptions Database { get; init; }
    public required DeliveryOptions Delivery { get; init; }

    /// <summary>Per-sender and per-link delivery rates and the fair turn between rooms (<c>limits:</c>).</summary>
    public Bridge.Core.Delivery.Fairness.LimitsOptions Limits { get; init; } = new();
    /// <summary>How long delivered rows and old messages' ids are kept (<c>retention:</c>).</summary>
    public Bridge.Core.Storage.Retention.RetentionOptions Retention { get; init; } = new();
    public required AuditOptions Audit { get; init; }
    public required AdminOptions Admin { get; init; }

    /// <summary>Spans (<c>telemetry:</c>).</summary>
    public TelemetryOptions Telemetry { get; init; } = new();

    /// <summary>The validated OTLP/HTTP endpoint spans go to; null when spans are off.</summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>The admin API's bearer tokens (from <c>admin:tokens</c>), validated; empty when none is configured.</summary>
    public Bridge.Host.Admin.Access.AdminTokens AdminTokens { get; init; } = Bridge.Host.Admin.Access.AdminTokens.None;

    /// <summary>The audit chain's keys (from <c>audit:key</c>/<c>keyFile</c> and the retired ones); empty for a plain chain.</summary>
    public AuditKeyRing AuditKeys { get; init; } = AuditKeyRing.None;

    /// <summary>Encrypts puppets' tokens at rest (from <c>database:secretsKey</c>/<c>secretsKeyFile</c>).</summary>
    public SecretProtector Secrets { get; init; } = SecretProtector.None;

    /// <summary>Translation between the languages of link endpoints (<c>translation:</c>); off by default.</summary>
    public Bridge.Core.Translation.TranslationOptions Translation { get; init; } = new();

    /// <summary>Things that work but that an operator should fix (printed by <c>check-config</c>, logged at start).</summary>
    public IReadOnlyList<ConfigError> Warnings { get; init; } = [];
}

internal sealed class DatabaseOptions
{
    /// <summary><c>sqlite</c> (default) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";

    public SqliteStoreOptions Sqlite { get; set; } = new();

    public PostgresSettings Postgres { get; set; } = new();

    /// <summary>
    /// AES-256-GCM key (base64, exactly 32 bytes) that encrypts puppets' access tokens in the store. Unset: tokens are
    /// kept in memory only (minted again after a restart) unless <see cref="AllowPlaintextSecrets"/>.
    /// </summary>
    public string? SecretsKey { get; set; }

    /// <summary>A file holding <see cref="SecretsKey"/> (base64 text); set one of the two.</summary>
    public string? SecretsKeyFile { get; set; }

    /// <summary>Without a secrets key, store tokens in plain text (the behaviour before keys existed). Off by default.</summary>
    public bool AllowPlaintextSecrets { get; set; }
}

internal sealed class PostgresSettings
{
    public string ConnectionString { get; set; } = "";

    /// <summary>How often the active process renews the leader lease, and a standby looks at it.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one renewal holds the lease; a standby takes over once it has run out.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    public Bridge.Core.Storage.Postgres.PostgresStoreOptions ToStoreOptions() => new()
    {
        ConnectionString = ConnectionString,
        HeartbeatInterval = HeartbeatInterval,
        LeaseDuration = LeaseDuration,
    };
}
