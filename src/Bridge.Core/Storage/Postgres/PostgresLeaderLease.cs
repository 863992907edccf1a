using System.Data;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Bridge.Core.Storage.Postgres;

/// <summary>What a heartbeat of the holder found.</summary>
public enum LeaseRenewal
{
    /// <summary>The database confirmed this process still holds the lease (same epoch); it may act until the next deadline.</summary>
    Renewed,

    /// <summary>The database did not answer; the lease may still be ours, but nothing is sent until a renewal succeeds.</summary>
    Unconfirmed,

    /// <summary>Another process holds a newer epoch, or the lease ran out without a confirmation: stop for good.</summary>
    Lost,
}

/// <summary>
/// Active/passive high availability over a shared PostgreSQL database: at most one bridge process holds the lease and runs
/// connectors and delivery; the others stand by. Two mechanisms, each covering what the other cannot see:
/// <list type="bullet">
/// <item>a <b>lease row</b> (holder, epoch, renewed, expires; times by the database's clock) that the holder renews every
/// heartbeat. A standby takes over when it has expired, even if the holder's session still holds the advisory lock: a
/// frozen process (SIGSTOP, a stalled VM) keeps its TCP session, and so its lock, forever. Each takeover increments the
/// epoch, the fencing token that <see cref="PostgresBridgeStore"/> checks inside every commit (<see cref="LeaderFence"/>).</item>
/// <item>a session-level <b>advisory lock</b> on a connection of its own, which PostgreSQL frees at once when the holder's
/// session ends (exit, crash). It is the fast path: a standby that finds the lock free on two polls in a row and the row
/// not renewed for two heartbeats takes over without waiting for the expiry. A live holder that merely lost its session
/// reconnects and renews within one heartbeat, so it is not replaced by a database blip.</item>
/// </list>
/// </summary>
/// <remarks>
/// The holder stops sending on its own when a renewal is older than the lease duration (monotonic clock, measured from
/// when the renewal was sent, so never later than the database's expiry): a standby can only take over after that.
/// </remarks>
public sealed class PostgresLeaderLease : IAsyncDisposable
{
    // Keyed by schema like the store's locks, so deployments sharing a database (one schema each) elect separately.
    private const string TryLockSql = "SELECT pg_try_advisory_lock(hashtextextended('bridge.leader:' || coalesce(current_schema(), ''), 0))";
    private const string UnlockSql = "SELECT pg_advisory_unlock(hashtextextended('bridge.leader:' || coalesce(current_schema(), ''), 0))";

    // The server only frees the lock when it notices the session is gone; with the kernel's default keepalive timing
    // (two hours) a holder whose host vanished would keep the fast path closed that long. These make it about 25 seconds.
    private const string SessionKeepaliveSql = "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3";

    private const string ReadForTakeoverSql =
        "SELECT holder, epoch, expires_at < now(), renewed_at < now() - $1 FROM leader_lease WHERE id = 1 FOR UPDATE";

    private const string TakeOverSql =
        "UPDATE leader_lease SET holder = $1, epoch = epoch + 1, acquired_at = now(), renewed_at = now(), expires_at = now() + $2 WHERE id = 1 RETURNING epoch";

    private const string RenewSql =
        "UPDATE leader_lease SET renewed_at = now(), expires_at = now() + $1 WHERE id = 1 AND epoch = $2 AND holder = $3";

    private const string ReleaseSql =
        "UPDATE leader_lease SET holder = '', expires_at = '-infinity' WHERE id = 1 AND epoch = $1 AND holder = $2";

    /// <summary>What every lease session is called in <c>pg_stat_activity</c>, followed by the instance's name.</summary>
    private const string SessionName = "bridge-leader-lease";

    private readonly string _connectionString;
    private readonly string _probeConnectionString;
    private readonly string _instance;
    private readonly TimeSpan _heartbeat;
    private readonly TimeSpan _duration;
    private readonly ILogger<PostgresLeaderLease> _logger;
    private readonly TimeProvider _time;
    private readonly LeaderFence _fence;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private NpgsqlConnection? _connection;
    private bool _schemaReady;
    private bool _hasLock;
    private int _lockFreePolls;
    private long? _epoch;

    /// <param name="instanceName">How this process is named to the others (e.g. host:pid), shown to standbys as the holder.</param>
    /// <param name="fence">Told the epoch and the deadlines; the store and the delivery workers read it.</param>
    public PostgresLeaderLease(PostgresStoreOptions options, ILogger<PostgresLeaderLease> logger, TimeProvider? time = null, string? instanceName = null,
        LeaderFence? fence = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _fence = fence ?? new LeaderFence(_time, leased: true);
        _heartbeat = options.HeartbeatInterval;
        _duration = options.LeaseDuration;
        _instance = instanceName ?? $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

        // Unpooled: closing must really end the session (a pooled connection would keep the lock alive in the pool),
        // and keepalives make a dead link to the server visible. Connecting may take at most one heartbeat.
        _connectionString = new NpgsqlConnectionStringBuilder(options.ConnectionString)
        {
            Pooling = false,
            KeepAlive = 10,
            Timeout = Math.Max(1, (int)Math.Ceiling(_heartbeat.TotalSeconds)),
            ApplicationName = $"{SessionName} {_instance}",
        }.ConnectionString;
        _probeConnectionString = new NpgsqlConnectionStringBuilder(options.ConnectionString) { ApplicationName = "bridge-leader-probe" }.ConnectionString;
    }

    /// <summary>The fence this lease keeps up to date.</summary>
    public LeaderFence Fence => _fence;

    /// <summary>How often to renew (holder) or look (standby).</summary>
    public TimeSpan HeartbeatInterval => _heartbeat;

    /// <summary>True while this process holds an epoch it has not seen replaced.</summary>
    public bool IsHeld => _epoch is not null && !_fence.IsLost;

    /// <summary>The fencing token of the lease this process holds.</summary>
    public long? Epoch => _epoch;

    /// <summary>The PostgreSQL backend of the lease session, for diagnostics and tests.</summary>
    internal int? BackendProcessId => _connection?.ProcessID;

    /// <summary>
    /// Who holds the lease and since when, or null when nobody does (released, or expired); for a standby to show.
    /// Database errors yield null: this is diagnostics, never a decision.
    /// </summary>
    public async Task<(string Holder, DateTimeOffset Since)?> HolderAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var conn = new NpgsqlConnection(_probeConnectionString);
            await conn.OpenAsync(cancellationToken);
            await using var cmd = new NpgsqlCommand("SELECT holder, acquired_at FROM leader_lease WHERE id = 1 AND expires_at > now()", conn);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken) || reader.GetString(0).Length == 0)
            {
                return null;
            }

            return (reader.GetString(0), new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc)));
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// One look as a standby: takes the lease when it is free, released, expired, or (fast path) when its holder's
    /// session is gone and it has not been renewed for two heartbeats. True if this process holds it now.
    /// </summary>
    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_epoch is not null)
            {
                return !_fence.IsLost;
            }

            var requestedAt = _time.GetTimestamp();
            try
            {
                var conn = await SessionAsync(cancellationToken);
                var lockFree = await TryLockAsync(conn, cancellationToken);
                _lockFreePolls = lockFree ? _lockFreePolls + 1 : 0;

                await using var tx = await conn.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
                // A frozen holder may sit inside a commit holding the fence's share lock: do not wait on it forever.
                await using (var timeout = new NpgsqlCommand("SET LOCAL lock_timeout = '1s'", conn, tx))
                {
                    await timeout.ExecuteNonQueryAsync(cancellationToken);
                }

                string holder;
                long epoch;
                bool expired, stale;
                await using (var read = new NpgsqlCommand(ReadForTakeoverSql, conn, tx))
                {
                    read.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _heartbeat * 2 });
                    await using var r = await read.ExecuteReaderAsync(cancellationToken);
                    await r.ReadAsync(cancellationToken);
                    (holder, epoch, expired, stale) = (r.GetString(0), r.GetInt64(1), r.GetBoolean(2), r.GetBoolean(3));
                }

                var why = holder.Length == 0 ? "free" : expired ? "expired" : lockFree && _lockFreePolls >= 2 && stale ? "holder's session gone" : null;
                if (why is null)
                {
                    await tx.RollbackAsync(cancellationToken);
                    if (_hasLock)
                    {
                        // The holder may only have lost its session (a database blip): leave it the lock to take again.
                        await UnlockAsync(conn, cancellationToken);
                    }

                    return false;
                }

                await using (var take = new NpgsqlCommand(TakeOverSql, conn, tx))
                {
                    take.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _instance });
                    take.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _duration });
                    epoch = Convert.ToInt64(await take.ExecuteScalarAsync(cancellationToken));
                }

                await tx.CommitAsync(cancellationToken);
                _epoch = epoch;
                _fence.Held(epoch, requestedAt, _duration);
                _logger.LogInformation(PostgresLeaseLog.Acquired, "Leader lease acquired as {Instance}, epoch {Epoch} ({Why}; previous holder {Previous}; advisory lock {Lock})",
                    _instance, epoch, why, holder.Length == 0 ? "none" : holder, _hasLock ? "held" : "still held by the previous holder's session");
                return true;
            }
            catch (Exception ex) when (IsDatabaseTrouble(ex) && !cancellationToken.IsCancellationRequested)
            {
                if (ex is PostgresException { SqlState: PostgresErrorCodes.LockNotAvailable })
                {
                    _logger.LogDebug(PostgresLeaseLog.Error, "Leader lease row is locked by a commit in flight; looking again later");
                }
                else
                {
                    await DropSessionAsync();
                    throw;
                }

                return false;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Waits until this process holds the lease, looking every heartbeat; database errors are logged and retried.</summary>
    public async Task AcquireAsync(CancellationToken cancellationToken)
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

            await Task.Delay(_heartbeat, _time, cancellationToken);
        }
    }

    /// <summary>
    /// The holder's heartbeat: renews the row if it still carries our epoch (reconnecting the lease session if it
    /// dropped), and keeps the fence's deadline. Call every <see cref="HeartbeatInterval"/>.
    /// </summary>
    public async Task<LeaseRenewal> RenewAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_epoch is not { } epoch || _fence.IsLost)
            {
                return LeaseRenewal.Lost;
            }

            var requestedAt = _time.GetTimestamp();
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(_heartbeat);
            try
            {
                int renewed;
                try
                {
                    renewed = await RenewOnceAsync(epoch, limit.Token);
                }
                catch (Exception ex) when (IsDatabaseTrouble(ex) && !limit.IsCancellationRequested)
                {
                    // Most often the session was ended under us (a database restart, a terminated backend): a new one
                    // at once, rather than a heartbeat later, keeps a standby's fast path closed.
                    await DropSessionAsync();
                    requestedAt = _time.GetTimestamp();
                    renewed = await RenewOnceAsync(epoch, limit.Token);
                }

                if (renewed == 1)
                {
                    _fence.Held(epoch, requestedAt, _duration);
                    return LeaseRenewal.Renewed;
                }

                _logger.LogCritical(PostgresLeaseLog.Lost, "Leader lease lost: another process took it over (our epoch {Epoch})", epoch);
                _fence.Lose();
                return LeaseRenewal.Lost;
            }
            catch (Exception ex) when ((IsDatabaseTrouble(ex) || ex is OperationCanceledException) && !cancellationToken.IsCancellationRequested)
            {
                _fence.SessionDown();
                await DropSessionAsync();
                if (_fence.Expired)
                {
                    _logger.LogCritical(PostgresLeaseLog.Lost, ex, "Leader lease lost: not renewed for {Duration} ({Reason})", _duration, ex.Message);
                    _fence.Lose();
                    return LeaseRenewal.Lost;
                }

                _logger.LogWarning(PostgresLeaseLog.Error, "Leader lease renewal failed ({Reason}); not sending until it succeeds", ex.Message);
                return LeaseRenewal.Unconfirmed;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Gives the lease up at once (a standby takes over at its next look), if this process still holds it.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_epoch is { } epoch && !_fence.IsLost && _connection is { } conn)
            {
                try
                {
                    await using var release = new NpgsqlCommand(ReleaseSql, conn);
                    release.Parameters.Add(new NpgsqlParameter<long> { TypedValue = epoch });
                    release.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _instance });
                    await release.ExecuteNonQueryAsync(cancellationToken);
                    _logger.LogInformation(PostgresLeaseLog.Released, "Leader lease released (epoch {Epoch})", epoch);
                }
                catch (Exception ex) when (IsDatabaseTrouble(ex))
                {
                    _logger.LogWarning(PostgresLeaseLog.Error, "Could not release the leader lease ({Reason}); it expires by itself", ex.Message);
                }
            }

            // Commits after this would be refused anyway once a standby takes over; stop them now.
            _fence.Lose();
            _epoch = null;
            await DropSessionAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Releases the lease if still held and closes the session.</summary>
    public async ValueTask DisposeAsync()
    {
        // The gate is not disposed: disposing twice (using + explicit) must stay harmless, and it holds no OS handle.
        await ReleaseAsync(CancellationToken.None);
    }

    private async Task<int> RenewOnceAsync(long epoch, CancellationToken cancellationToken)
    {
        var conn = await SessionAsync(cancellationToken);
        if (!_hasLock)
        {
            await TryLockAsync(conn, cancellationToken);
        }

        await using var renew = new NpgsqlCommand(RenewSql, conn);
        renew.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _duration });
        renew.Parameters.Add(new NpgsqlParameter<long> { TypedValue = epoch });
        renew.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _instance });
        return await renew.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<NpgsqlConnection> SessionAsync(CancellationToken cancellationToken)
    {
        if (_connection is { State: ConnectionState.Open } open)
        {
            return open;
        }

        await DropSessionAsync();
        var conn = new NpgsqlConnection(_connectionString);
        try
        {
            await conn.OpenAsync(cancellationToken);
            await using (var keepalive = new NpgsqlCommand(SessionKeepaliveSql, conn))
            {
                await keepalive.ExecuteNonQueryAsync(cancellationToken);
            }

            if (!_schemaReady)
            {
                await using var tx = await conn.BeginTransactionAsync(cancellationToken);
                await using (var migrationLock = new NpgsqlCommand(PostgresMigrations.MigrationLockSql, conn, tx))
                {
                    await migrationLock.ExecuteNonQueryAsync(cancellationToken);
                }

                await using (var ensure = new NpgsqlCommand(PostgresMigrations.LeaseSchemaSql, conn, tx))
                {
                    await ensure.ExecuteNonQueryAsync(cancellationToken);
                }

                await tx.CommitAsync(cancellationToken);
                _schemaReady = true;
            }
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }

        _connection = conn;
        return conn;
    }

    private async Task<bool> TryLockAsync(NpgsqlConnection conn, CancellationToken cancellationToken)
    {
        if (_hasLock)
        {
            // Session-level advisory locks stack: taking it twice would need two unlocks.
            return true;
        }

        await using var cmd = new NpgsqlCommand(TryLockSql, conn);
        _hasLock = await cmd.ExecuteScalarAsync(cancellationToken) is true;
        return _hasLock;
    }

    private async Task UnlockAsync(NpgsqlConnection conn, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand(UnlockSql, conn);
        await cmd.ExecuteScalarAsync(cancellationToken);
        _hasLock = false;
    }

    private async Task DropSessionAsync()
    {
        _hasLock = false;
        if (_connection is { } conn)
        {
            _connection = null;
            await conn.DisposeAsync();
        }
    }

    private static bool IsDatabaseTrouble(Exception ex) => ex is NpgsqlException or TimeoutException or InvalidOperationException or System.IO.IOException;
}

internal static class PostgresLeaseLog
{
    public static readonly EventId Acquired = new(1101, nameof(Acquired));
    public static readonly EventId Standby = new(1102, nameof(Standby));
    public static readonly EventId Lost = new(1103, nameof(Lost));
    public static readonly EventId Released = new(1104, nameof(Released));
    public static readonly EventId Error = new(1105, nameof(Error));
}
