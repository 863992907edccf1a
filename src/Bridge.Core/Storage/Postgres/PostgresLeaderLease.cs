using Microsoft.Extensions.Logging;
using Npgsql;

namespace Bridge.Core.Storage.Postgres;

/// <summary>
/// Active/passive high availability over a shared PostgreSQL database: at most one bridge process holds the lease and runs
/// connectors and delivery; the others wait in <see cref="AcquireAsync"/>. The lease is a session-level advisory lock on a
/// connection of its own, so PostgreSQL releases it by itself when the holder's session ends (process exit, crash, network loss).
/// </summary>
/// <remarks>
/// Two active processes would each deliver every outbox row and fight over the networks' single-connection endpoints
/// (an XMPP component, a Matrix appservice URL), so the store alone does not make a second process useful: the lease does.
/// The holder must call <see cref="CheckAsync"/> periodically and stop acting when it returns false.
/// </remarks>
public sealed class PostgresLeaderLease : IAsyncDisposable
{
    // Keyed by schema like the store's locks, so deployments sharing a database (one schema each) elect separately.
    private const string TryLockSql = "SELECT pg_try_advisory_lock(hashtextextended('bridge.leader:' || coalesce(current_schema(), ''), 0))";

    // The server only frees the lock when it notices the session is gone; with the kernel's default keepalive timing
    // (two hours) a holder whose host vanished would block every standby that long. These make it about 25 seconds.
    private const string SessionKeepaliveSql = "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3";

    private readonly string _connectionString;
    private readonly ILogger<PostgresLeaderLease> _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private NpgsqlConnection? _connection;

    /// <summary>What every lease session is called in <c>pg_stat_activity</c>, followed by the instance's name.</summary>
    private const string SessionName = "bridge-leader-lease";

    private const string HolderSql = """
        SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended('bridge.leader:' || coalesce(current_schema(), ''), 0)
        LIMIT 1
        """;

    /// <param name="instanceName">How this process is named to the others (e.g. host:pid), shown to standbys as the holder.</param>
    public PostgresLeaderLease(PostgresStoreOptions options, ILogger<PostgresLeaderLease> logger, TimeProvider? time = null, string? instanceName = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _logger = logger;
        _time = time ?? TimeProvider.System;

        // Unpooled: closing must really end the session (a pooled connection would keep the lock alive in the pool),
        // and keepalives make a dead link to the server visible to CheckAsync.
        _connectionString = new NpgsqlConnectionStringBuilder(options.ConnectionString)
        {
            Pooling = false,
            KeepAlive = 10,
            ApplicationName = instanceName is null ? SessionName : $"{SessionName} {instanceName}",
        }.ConnectionString;
        _holderConnectionString = new NpgsqlConnectionStringBuilder(options.ConnectionString) { ApplicationName = "bridge-leader-probe" }.ConnectionString;
    }

    private readonly string _holderConnectionString;

    /// <summary>
    /// Who holds the lease (the instance name it gave, or its backend) and since when, or null when nobody does; for a
    /// standby to show. Database errors yield null: this is diagnostics, never a decision.
    /// </summary>
    public async Task<(string Holder, DateTimeOffset Since)?> HolderAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var conn = new NpgsqlConnection(_holderConnectionString);
            await conn.OpenAsync(cancellationToken);
            await using var cmd = new NpgsqlCommand(HolderSql, conn);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            var name = reader.IsDBNull(0) ? "" : reader.GetString(0);
            var holder = name.StartsWith(SessionName + " ", StringComparison.Ordinal) ? name[(SessionName.Length + 1)..] : "another bridge process";
            var since = reader.IsDBNull(1) ? DateTimeOffset.MinValue : new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc));
            return (holder, since);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>True while this process believes it holds the lease (as of the last acquire or check).</summary>
    public bool IsHeld => _connection is not null;

    /// <summary>The PostgreSQL backend holding the lease, for diagnostics and tests.</summary>
    internal int? BackendProcessId => _connection?.ProcessID;

    /// <summary>One attempt: true if this process holds the lease now.</summary>
    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_connection is not null)
            {
                return true;
            }

            var conn = new NpgsqlConnection(_connectionString);
            try
            {
                await conn.OpenAsync(cancellationToken);
                await using (var keepalive = new NpgsqlCommand(SessionKeepaliveSql, conn))
                {
                    await keepalive.ExecuteNonQueryAsync(cancellationToken);
                }

                await using var cmd = new NpgsqlCommand(TryLockSql, conn);
                if (await cmd.ExecuteScalarAsync(cancellationToken) is true)
                {
                    _connection = conn;
                    _logger.LogInformation(PostgresLeaseLog.Acquired, "Leader lease acquired (backend {Pid})", conn.ProcessID);
                    return true;
                }
            }
            catch
            {
                await conn.DisposeAsync();
                throw;
            }

            await conn.DisposeAsync();
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Waits until this process holds the lease, trying every <paramref name="pollInterval"/>; database errors are logged and retried.</summary>
    public async Task AcquireAsync(TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        var waiting = false;
        while (true)
        {
            try
            {
                if (await TryAcquireAsync(cancellationToken))
                {
                    return;
                }

                if (!waiting)
                {
                    _logger.LogInformation(PostgresLeaseLog.Standby, "Another bridge process holds the leader lease; standing by");
                    waiting = true;
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                _logger.LogWarning(PostgresLeaseLog.Error, ex, "Leader lease attempt failed; retrying");
            }

            await Task.Delay(pollInterval, _time, cancellationToken);
        }
    }

    /// <summary>
    /// Confirms the lease's session is alive. False means the lease is lost (the server may already have granted it to a standby):
    /// the caller must stop connectors and delivery at once.
    /// </summary>
    public async Task<bool> CheckAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_connection is null)
            {
                return false;
            }

            try
            {
                await using var cmd = new NpgsqlCommand("SELECT 1", _connection);
                await cmd.ExecuteScalarAsync(cancellationToken);
                return true;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                _logger.LogError(PostgresLeaseLog.Lost, ex, "Leader lease lost: its database session ended");
                await _connection.DisposeAsync();
                _connection = null;
                return false;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Gives the lease up (a standby can take over at once).</summary>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_connection is not null)
            {
                await _connection.DisposeAsync();
                _connection = null;
                _logger.LogInformation(PostgresLeaseLog.Released, "Leader lease released");
            }
        }
        finally
        {
            // The gate is not disposed: disposing twice (using + explicit) must stay harmless, and it holds no OS handle.
            _gate.Release();
        }
    }
}

internal static class PostgresLeaseLog
{
    public static readonly EventId Acquired = new(1101, nameof(Acquired));
    public static readonly EventId Standby = new(1102, nameof(Standby));
    public static readonly EventId Lost = new(1103, nameof(Lost));
    public static readonly EventId Released = new(1104, nameof(Released));
    public static readonly EventId Error = new(1105, nameof(Error));
}
