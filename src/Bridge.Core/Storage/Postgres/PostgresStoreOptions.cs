using Npgsql;

namespace Bridge.Core.Storage.Postgres;

/// <summary>Settings of the PostgreSQL store (configuration section <c>database:postgres</c>).</summary>
public sealed class PostgresStoreOptions
{
    /// <summary>An Npgsql connection string, e.g. <c>Host=db;Port=5432;Database=bridge;Username=bridge;Password=...</c>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>How often the active process renews the leader lease (and a standby looks at it). Default 2 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a renewal keeps the lease: a holder that cannot renew for this long stops acting, and a standby takes over
    /// once it has run out, even if the holder's session still holds the advisory lock (a frozen process). Default 10 s.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws when the options cannot work, so a bad configuration stops the bridge at start, not at the first message.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new InvalidOperationException("database:postgres:connectionString is required when database:provider is postgres");
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException("database:postgres:connectionString is not a valid Npgsql connection string: " + ex.Message, ex);
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new InvalidOperationException("database:postgres:connectionString has no Host");
        }

        if (LeaseProblem(HeartbeatInterval, LeaseDuration) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }
    }

    /// <summary>Why these lease timings cannot work, or null when they can.</summary>
    public static string? LeaseProblem(TimeSpan heartbeat, TimeSpan duration)
    {
        if (heartbeat < TimeSpan.FromMilliseconds(100) || heartbeat > TimeSpan.FromMinutes(1))
        {
            return $"database:postgres:heartbeatInterval {heartbeat} is out of range: use 00:00:00.1 to 00:01:00";
        }

        // Three heartbeats per lease: one slow or lost renewal must not cost the lease.
        if (duration < heartbeat * 3 || duration > TimeSpan.FromMinutes(10))
        {
            return $"database:postgres:leaseDuration {duration} must be at least three heartbeat intervals ({heartbeat * 3}) and at most 00:10:00";
        }

        return null;
    }
}
