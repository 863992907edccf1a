using Bridge.Core.Configuration;
using Bridge.Core.Delivery;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using Bridge.Core.Storage.Sqlite;

namespace Bridge.Host.Configuration;

/// <summary>Everything the host needs from configuration, validated before anything starts.</summary>
internal sealed record HostSettings
{
    public required BridgeTopology Topology { get; init; }
    public required CompiledPolicy Policy { get; init; }
    public required DatabaseOptions Database { get; init; }
    public required DeliveryOptions Delivery { get; init; }
    public required AuditOptions Audit { get; init; }
    public required AdminOptions Admin { get; init; }
}

internal sealed class DatabaseOptions
{
    /// <summary><c>sqlite</c> (default) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";

    public SqliteStoreOptions Sqlite { get; set; } = new();

    public PostgresSettings Postgres { get; set; } = new();
}

internal sealed class PostgresSettings
{
    public string ConnectionString { get; set; } = "";
}

internal sealed class AdminOptions
{
    /// <summary>Where the admin HTTP API (health, status, metrics) listens, e.g. <c>http://127.0.0.1:9480</c>; empty turns it off.</summary>
    public string Listen { get; set; } = "";
}
