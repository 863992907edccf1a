using Bridge.Core.Audit;
using Bridge.Core.Model;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Bridge.Core.Storage.Postgres;

/// <summary>
/// The PostgreSQL store, for larger deployments and for several bridge processes sharing one database.
/// Every call borrows a pooled connection; writes that must be atomic run in one transaction, and statements that
/// belong together travel in one <see cref="NpgsqlBatch"/> to save round trips.
/// </summary>
public sealed partial class PostgresBridgeStore : IBridgeStore, IAdminStore
{
    private const string AuditColumns = AuditRows.Columns;

    private const string AuditInsertSql =
        "INSERT INTO audit(" + AuditColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

    private const string MapInsertSql =
        "INSERT INTO message_map(origin_network, origin_native_id, network_id, channel_id, native_id, is_origin) " +
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<PostgresBridgeStore> _logger;
    private readonly TimeProvider _time;
    private readonly AuditKeyRing _auditKeys;
    private readonly LeaderFence _fence;

    /// <param name="fence">
    /// The leader lease's fence when several processes share the database: every commit then checks, in its own
    /// transaction, that the lease still carries this process's epoch. Without one (a single process) nothing is checked.
    /// </param>
    public PostgresBridgeStore(PostgresStoreOptions options, ILogger<PostgresBridgeStore> logger, TimeProvider? time = null, AuditKeyRing? auditKeys = null,
        LeaderFence? fence = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _auditKeys = auditKeys ?? AuditKeyRing.None;
        options.Validate();
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _fence = fence ?? LeaderFence.Unleased(_time);

        // A frozen process (SIGSTOP) inside an explicit transaction would hold the fence's share lock on the lease row,
        // and so block a takeover, for as long as it is frozen: the server ends such a transaction after one lease.
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        if (fence is not null)
        {
            var idle = $"-c idle_in_transaction_session_timeout={(long)options.LeaseDuration.TotalMilliseconds}";
            builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? idle : builder.Options + " " + idle;
        }

        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken);

        // The lock comes before CREATE TABLE IF NOT EXISTS: two sessions creating the same table concurrently can fail.
        await using (var lockCmd = new NpgsqlCommand(PostgresMigrations.MigrationLockSql, conn, tx))
        {
            await lockCmd.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var create = new NpgsqlCommand(
            "CREATE TABLE IF NOT EXISTS schema_version(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", conn, tx))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        // Applied by number, not "everything above the highest": steps made on separate branches (5 and 6) can
        // arrive in either order, and a store that has 6 still gets 5 when it appears.
        var done = new HashSet<int>();
        await using (var read = new NpgsqlCommand("SELECT version FROM schema_version", conn, tx))
        {
            await using var r = await read.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                done.Add(r.GetInt32(0));
            }
        }

        var applied = new List<int>();
        foreach (var (version, sql) in PostgresMigrations.All)
        {
            if (done.Contains(version))
            {
                continue;
            }

            await using (var step = new NpgsqlCommand(sql, conn, tx))
            {
                await step.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var mark = new NpgsqlCommand("INSERT INTO schema_version(version) VALUES ($1)", conn, tx))
            {
                mark.Parameters.Add(Int32(version));
                await mark.ExecuteNonQueryAsync(cancellationToken);
            }

            applied.Add(version);
        }

        await tx.CommitAsync(cancellationToken);
        foreach (var version in applied)
        {
            _logger.LogInformation(StoreLog.Migrated, "PostgreSQL schema migrated to version {Version}", version);
        }

        if (_auditKeys.Current is not null)
        {
            // A new or rotated key takes effect at start: the key record is written now, not with the next event.
            await using var keyTx = await conn.BeginTransactionAsync(cancellationToken);
            var head = await WriteLockedAsync(conn, keyTx, _ => { }, cancellationToken);
            await InsertAuditAsync(conn, keyTx, [], head, cancellationToken);
            await keyTx.CommitAsync(cancellationToken);
        }
    }

    public Task<bool> IngestAsync(BridgeEvent origin, IReadOnlyList<OutboxDraft> outbox, IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken) =>
        FencedAsync(() => IngestCoreAsync(origin, outbox, audit, cancellationToken));

    private async Task<bool> IngestCoreAsync(BridgeEvent origin, IReadOnlyList<OutboxDraft> outbox, IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(origin);
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(audit);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var conn = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken);

        // Dedupe first and without the write lock: a concurrent ingest of the same id waits here for the other
        // transaction, then sees the conflict; it never holds the lock while waiting, so this cannot deadlock.
        await using (var seen = new NpgsqlCommand(
            "INSERT INTO inbound(network_id, native_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", conn, tx))
        {
            seen.Parameters.Add(Text(origin.NetworkId));
            seen.Parameters.Add(Text(origin.NativeId));
            seen.Parameters.Add(Int64(now));
            if (await seen.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                await tx.RollbackAsync(cancellationToken);
                return false;
            }
        }

        var head = await WriteLockedAsync(conn, tx, batch => AddOriginWrites(batch, origin, outbox, now), cancellationToken);
        await InsertAuditAsync(conn, tx, audit, head, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    public Task<IReadOnlyList<IngestStored>> IngestBatchAsync(IReadOnlyList<IngestDraft> items, CancellationToken cancellationToken) =>
        FencedAsync(() => IngestBatchCoreAsync(items, cancellationToken));

    private async Task<IReadOnlyList<IngestStored>> IngestBatchCoreAsync(IReadOnlyList<IngestDraft> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        var results = new IngestStored[items.Count];
        if (items.Count == 0)
        {
            return results;
        }

        foreach (var item in items)
        {
            ArgumentNullException.ThrowIfNull(item.Origin);
            ArgumentNullException.ThrowIfNull(item.Outbox);
            ArgumentNullException.ThrowIfNull(item.Audit);
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var conn = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken);

        // Echoes (ids the bridge itself delivered), all in one query.
        var echoes = new HashSet<(string, string)>();
        await using (var echo = new NpgsqlCommand(
            "SELECT network_id, native_id FROM delivered_ids WHERE (network_id, native_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))", conn, tx))
        {
            echo.Parameters.Add(new NpgsqlParameter { Value = items.Select(i => i.Origin.NetworkId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            echo.Parameters.Add(new NpgsqlParameter { Value = items.Select(i => i.Origin.NativeId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await using var r = await echo.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                echoes.Add((r.GetString(0), r.GetString(1)));
            }
        }

        // Dedupe first and without the write lock, as a single ingest does; in item order, so a repeat within the
        // batch conflicts with the earlier row of this same transaction.
        var inbound = new List<(int Index, NpgsqlBatchCommand Command)>();
        await using (var seen = new NpgsqlBatch(conn, tx))
        {
            for (var i = 0; i < items.Count; i++)
            {
                var origin = items[i].Origin;
                if (echoes.Contains((origin.NetworkId, origin.NativeId)))
                {
                    results[i] = IngestStored.Echo;
                    continue;
                }

                var insert = Command("INSERT INTO inbound(network_id, native_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    Text(origin.NetworkId), Text(origin.NativeId), Int64(now));
                seen.BatchCommands.Add(insert);
                inbound.Add((i, insert));
            }

            if (inbound.Count > 0)
            {
                await seen.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        var audit = new List<AuditDraft>();
        var stored = new List<IngestDraft>();
        foreach (var (index, insert) in inbound)
        {
            if (insert.RecordsAffected == 0)
            {
                results[index] = IngestStored.Duplicate;
                continue;
            }

            results[index] = IngestStored.Stored;
            stored.Add(items[index]);
            audit.AddRange(items[index].Audit);
        }

        if (stored.Count == 0)
        {
            await tx.RollbackAsync(cancellationToken);
            return results;
        }

        var head = await WriteLockedAsync(conn, tx, batch =>
        {
            foreach (var item in stored)
            {
                AddOriginWrites(batch, item.Origin, item.Outbox, now);
            }
        }, cancellationToken);
        await InsertAuditAsync(conn, tx, audit, head, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return results;
    }

    /// <summary>The origin in the message map (a message) and its outbox rows, in order.</summary>
    private static void AddOriginWrites(NpgsqlBatch batch, BridgeEvent origin, IReadOnlyList<OutboxDraft> outbox, long now)
    {
        if (origin.Kind == BridgeEventKind.Message)
        {
            batch.BatchCommands.Add(MapInsert(origin.NetworkId, origin.NativeId, origin.NetworkId, origin.ChannelId, origin.NativeId, true));
        }

        foreach (var draft in outbox)
        {
            batch.BatchCommands.Add(Command(
                "INSERT INTO outbox(link_id, origin_network, origin_native_id, dest_network, dest_channel, payload, label, state, attempts, not_before, created_at, updated_at) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, 0, $8, $8)",
                Text(draft.LinkId), Text(origin.NetworkId), Text(origin.NativeId), Text(draft.Destination.NetworkId),
                Text(draft.Destination.ChannelId), Text(EventJson.Serialize(draft.Event)), Text(draft.Label), Int64(now)));
        }
    }

    public async Task<IReadOnlyList<OutboxItem>> GetPendingAsync(string networkId, IReadOnlyCollection<string> excludeChannels, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(excludeChannels);
        await using var cmd = _dataSource.CreateCommand(
            $"SELECT {OutboxRows.Columns} FROM outbox WHERE dest_network = $1 AND state = 0 AND NOT (dest_channel = ANY($2)) ORDER BY id LIMIT $3");
        cmd.Parameters.Add(Text(networkId));
        cmd.Parameters.Add(new NpgsqlParameter { Value = excludeChannels.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(Int32(limit));
        var list = new List<OutboxItem>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(OutboxRows.Read(r));
        }

        return list;
    }

    public async Task MarkDeliveredAsync(OutboxItem item, string? nativeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (nativeId is null)
        {
            await MarkSkippedAsync(item, "skipped", cancellationToken);
            return;
        }

        await FencedAsync(() => MarkDeliveredCoreAsync(item, nativeId, cancellationToken));
    }

    private async Task<bool> MarkDeliveredCoreAsync(OutboxItem item, string nativeId, CancellationToken cancellationToken)
    {
        // A batch without an explicit transaction runs as one implicit transaction: all statements or none (the fence
        // first, so a deposed process changes nothing).
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var batch = _dataSource.CreateBatch();
        AddFence(batch);
        batch.BatchCommands.Add(Command(
            "UPDATE outbox SET state = $1, delivered_native_id = $2, updated_at = $3 WHERE id = $4",
            Int16((short)OutboxState.Delivered), Text(nativeId), Int64(now), Int64(item.Id)));
        if (item.Event.Kind == BridgeEventKind.Message)
        {
            batch.BatchCommands.Add(MapInsert(item.Event.NetworkId, item.Event.NativeId, item.Destination.NetworkId, item.Destination.ChannelId, nativeId, false));
        }

        // Every id the bridge created is an echo if it comes back, whatever kind of event it was.
        batch.BatchCommands.Add(Command(
            "INSERT INTO delivered_ids(network_id, native_id, delivered_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            Text(item.Destination.NetworkId), Text(nativeId), Int64(now)));

        await batch.ExecuteNonQueryAsync(cancellationToken);
        return true;
    }

    public Task MarkSkippedAsync(OutboxItem item, string reason, CancellationToken cancellationToken) =>
        FencedAsync(() => MarkSkippedCoreAsync(item, reason, cancellationToken));

    private async Task<bool> MarkSkippedCoreAsync(OutboxItem item, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        await using var conn = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken);
        int changed;
        await using (var update = new NpgsqlCommand("UPDATE outbox SET state = $1, last_error = $2, updated_at = $3 WHERE id = $4 AND state = 0", conn, tx))
        {
            update.Parameters.Add(Int16((short)OutboxState.Skipped));
            update.Parameters.Add(Text(reason));
            update.Parameters.Add(Int64(_time.GetUtcNow().ToUnixTimeMilliseconds()));
            update.Parameters.Add(Int64(item.Id));
            changed = await update.ExecuteNonQueryAsync(cancellationToken);
        }

        if (changed > 0)
        {
            var head = await WriteLockedAsync(conn, tx, _ => { }, cancellationToken);
            await InsertAuditAsync(conn, tx, [DeliveryOutcomeAudit.For(_time.GetUtcNow(), item, DeliveryOutcomeAudit.Skipped, reason)], head, cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        return true;
    }

    public Task RescheduleAsync(long outboxId, int attempts, DateTimeOffset notBefore, string error, CancellationToken cancellationToken) =>
        UpdateOutboxAsync("UPDATE outbox SET attempts = $1, not_before = $2, last_error = $3, updated_at = $4 WHERE id = $5",
            outboxId, attempts, notBefore.ToUnixTimeMilliseconds(), error, cancellationToken);

    public Task DeadLetterAsync(long outboxId, int attempts, string reason, CancellationToken cancellationToken) =>
        FencedAsync(() => DeadLetterCoreAsync(outboxId, attempts, reason, cancellationToken));

    private async Task<bool> DeadLetterCoreAsync(long outboxId, int attempts, string reason, CancellationToken cancellationToken)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken);
        await CheckFenceAsync(conn, tx, cancellationToken);

        OutboxItem? item = null;
        await using (var read = new NpgsqlCommand($"SELECT {OutboxRows.Columns} FROM outbox WHERE id = $1 AND state = 0 FOR UPDATE", conn, tx))
        {
            read.Parameters.Add(Int64(outboxId));
            await using var r = await read.ExecuteReaderAsync(cancellationToken);
            if (await r.ReadAsync(cancellationToken))
            {
                item = OutboxRows.Read(r);
            }
        }

        await using (var update = new NpgsqlCommand(
            $"UPDATE outbox SET state = {(int)OutboxState.DeadLettered}, attempts = $1, not_before = 0, last_error = $2, updated_at = $3 WHERE id = $4", conn, tx))
        {
            update.Parameters.Add(Int32(attempts));
            update.Parameters.Add(Text(reason));
            update.Parameters.Add(Int64(_time.GetUtcNow().ToUnixTimeMilliseconds()));
            update.Parameters.Add(Int64(outboxId));
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        if (item is not null)
        {
            var head = await WriteLockedAsync(conn, tx, _ => { }, cancellationToken);
            await InsertAuditAsync(conn, tx, [DeliveryOutcomeAudit.For(_time.GetUtcNow(), item, DeliveryOutcomeAudit.DeadLettered, reason)], head, cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<DeliveryState>> GetDeliveryStatesAsync(string originNetwork, string originNativeId, CancellationToken cancellationToken)
    {
        await using var cmd = _dataSource.CreateCommand(
            "SELECT link_id, dest_network, dest_channel, state FROM outbox WHERE origin_network = $1 AND origin_native_id = $2 ORDER BY id");
        cmd.Parameters.Add(Text(originNetwork));
        cmd.Parameters.Add(Text(originNativeId));
        var list = new List<DeliveryState>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new DeliveryState(r.GetString(0), new ChannelRef(r.GetString(1), r.GetString(2)), (OutboxState)r.GetInt16(3)));
        }

        return list;
    }

    public async Task<int> CountPendingAsync(string? networkId, CancellationToken cancellationToken)
    {
        // Two statements rather than "$1 IS NULL OR ...", so the planner can use the partial pending index.
        await using var cmd = networkId is null
            ? _dataSource.CreateCommand("SELECT COUNT(*) FROM outbox WHERE state = 0")
            : _dataSource.CreateCommand("SELECT COUNT(*) FROM outbox WHERE state = 0 AND dest_network = $1");
        if (networkId is not null)
        {
            cmd.Parameters.Add(Text(networkId));
        }

        return Convert.ToInt32(await cmd.ExecuteScalarAsync(cancellationToken));
    }

    public async Task<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int limit, CancellationToken cancellationToken)
    {
        await using var cmd = _dataSource.CreateCommand(
            "SELECT id, link_id, dest_network, dest_channel, origin_network, origin_native_id, last_error, attempts, updated_at " +
            $"FROM outbox WHERE state = {(int)OutboxState.DeadLettered} ORDER BY id DESC LIMIT $1");
        cmd.Parameters.Add(Int32(limit));
        var list = new List<DeadLetter>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new DeadLetter(r.GetInt64(0), r.GetString(1), new ChannelRef(r.GetString(2), r.GetString(3)), r.GetString(4), r.GetString(5),
                r.IsDBNull(6) ? "" : r.GetString(6), r.GetInt32(7), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8))));
        }

        return list;
    }

    public async Task<MessageOrigin?> FindOriginAsync(string networkId, string nativeId, CancellationToken cancellationToken)
    {
        await using var cmd = _dataSource.CreateCommand(
            "SELECT origin_network, origin_native_id FROM message_map WHERE network_id = $1 AND native_id = $2 LIMIT 1");
        cmd.Parameters.Add(Text(networkId));
        cmd.Parameters.Add(Text(nativeId));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        return await r.ReadAsync(cancellationToken) ? new MessageOrigin(r.GetString(0), r.GetString(1)) : null;
    }

    public async Task<string?> FindNativeIdAsync(MessageOrigin origin, ChannelRef destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(origin);
        ArgumentNullException.ThrowIfNull(destination);
        await using var cmd = _dataSource.CreateCommand(
            "SELECT native_id FROM message_map WHERE origin_network = $1 AND origin_native_id = $2 AND network_id = $3 AND channel_id = $4 LIMIT 1");
        cmd.Parameters.Add(Text(origin.NetworkId));
        cmd.Parameters.Add(Text(origin.NativeId));
        cmd.Parameters.Add(Text(destination.NetworkId));
        cmd.Parameters.Add(Text(destination.ChannelId));
        return await cmd.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task<bool> IsDeliveredNativeIdAsync(string networkId, string nativeId, CancellationToken cancellationToken)
    {
        await using var cmd = _dataSource.CreateCommand("SELECT 1 FROM delivered_ids WHERE network_id = $1 AND native_id = $2");
        cmd.Parameters.Add(Text(networkId));
        cmd.Parameters.Add(Text(nativeId));
        return await cmd.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task AppendAuditAsync(IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        if (audit.Count == 0)
        {
            return;
        }

        await FencedAsync(async () =>
        {
            await using var conn = await _dataSource.OpenConnectionAsync(cancellationToken);
            await using var tx = await conn.BeginTransactionAsync(cancellationToken);
            var head = await WriteLockedAsync(conn, tx, _ => { }, cancellationToken);
            await InsertAuditAsync(conn, tx, audit, head, cancellationToken);
            await tx.CommitAsync(cancellationToken);
            return true;
        });
    }

    public async Task<IReadOnlyList<AuditRecord>> ReadAuditAsync(long afterSequence, DateTimeOffset? since, int limit, CancellationToken cancellationToken)
    {
        await using var cmd = _dataSource.CreateCommand($"SELECT {AuditColumns} FROM audit WHERE seq > $1 AND at >= $2 ORDER BY seq LIMIT $3");
        cmd.Parameters.Add(Int64(afterSequence));
        cmd.Parameters.Add(Int64(since?.UtcTicks ?? 0));
        cmd.Parameters.Add(Int32(limit));
        var list = new List<AuditRecord>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(AuditRows.Read(r));
        }

        return list;
    }

    public async Task<string?> GetAsync(string scope, string key, CancellationToken cancellationToken)
    {
        await using var cmd = _dataSource.CreateCommand("SELECT value FROM connector_state WHERE scope = $1 AND key = $2");
        cmd.Parameters.Add(Text(scope));
        cmd.Parameters.Add(Text(key));
        return await cmd.ExecuteScalarAsync(cancellationToken) as string;
    }

    public Task SetAsync(string scope, string key, string value, CancellationToken cancellationToken) =>
        StateWriteAsync("INSERT INTO connector_state(scope, key, value) VALUES ($1, $2, $3) ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value",
            scope, key, value, cancellationToken);

    public Task DeleteAsync(string scope, string key, CancellationToken cancellationToken) =>
        StateWriteAsync("DELETE FROM connector_state WHERE scope = $1 AND key = $2", scope, key, null, cancellationToken);

    public Task SetManyAsync(string scope, IReadOnlyList<KeyValuePair<string, string>> entries, CancellationToken cancellationToken) => FencedAsync(async () =>
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return true;
        }

        // One batch, one implicit transaction: the fence first, then every key (the XMPP send marks of a run).
        await using var batch = _dataSource.CreateBatch();
        AddFence(batch);
        foreach (var (key, value) in entries)
        {
            batch.BatchCommands.Add(Command("INSERT INTO connector_state(scope, key, value) VALUES ($1, $2, $3) ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value",
                Text(scope), Text(key), Text(value)));
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        return true;
    });

    public Task DeleteManyAsync(string scope, IReadOnlyList<string> keys, CancellationToken cancellationToken) => FencedAsync(async () =>
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return true;
        }

        // One batch, one implicit transaction: the fence first, then every key.
        await using var batch = _dataSource.CreateBatch();
        AddFence(batch);
        foreach (var key in keys)
        {
            batch.BatchCommands.Add(Command("DELETE FROM connector_state WHERE scope = $1 AND key = $2", Text(scope), Text(key)));
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        return true;
    });

    public async Task<bool> TryAddAsync(string scope, string key, string value, CancellationToken cancellationToken) =>
        await StateWriteAsync("INSERT INTO connector_state(scope, key, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            scope, key, value, cancellationToken) > 0;

    public async Task<IReadOnlyDictionary<string, string>> ListAsync(string scope, CancellationToken cancellationToken)
    {
        await using var cmd = _dataSource.CreateCommand("SELECT key, value FROM connector_state WHERE scope = $1");
        cmd.Parameters.Add(Text(scope));
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            result[r.GetString(0)] = r.GetString(1);
        }

        return result;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    /// <summary>
    /// Takes the write lock, reads the audit chain's head and runs <paramref name="addWrites"/>'s statements, in one round trip.
    /// The lock is its own statement before the read: under READ COMMITTED each statement takes a fresh snapshot, so the
    /// read then sees the rows committed by whoever held the lock before us.
    /// </summary>
    private async Task<(long Sequence, string Hash, string KeyId)> WriteLockedAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Action<NpgsqlBatch> addWrites, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(conn, tx);
        AddFence(batch);
        batch.BatchCommands.Add(Command(PostgresMigrations.WriteLockSql));
        batch.BatchCommands.Add(Command("SELECT seq, hash, key_id FROM audit ORDER BY seq DESC LIMIT 1"));
        addWrites(batch);

        long seq = 0;
        var prev = AuditChain.Genesis;
        var keyId = "";
        await using var r = await batch.ExecuteReaderAsync(cancellationToken);
        if (_fence.Epoch is not null)
        {
            await r.NextResultAsync(cancellationToken); // past the fence's result
        }

        await r.NextResultAsync(cancellationToken); // past the lock's result
        if (await r.ReadAsync(cancellationToken))
        {
            seq = r.GetInt64(0);
            prev = r.GetString(1);
            keyId = r.GetString(2);
        }

        // Drain the remaining statements here so their errors surface now, inside this call.
        while (await r.NextResultAsync(cancellationToken))
        {
        }

        return (seq, prev, keyId);
    }

    /// <summary>
    /// Appends the records, MACed with the current audit key when there is one (preceded by a key record when the
    /// chain's head was not made with that key).
    /// </summary>
    private async Task InsertAuditAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<AuditDraft> audit, (long Sequence, string Hash, string KeyId) head, CancellationToken cancellationToken)
    {
        var (seq, prev, headKey) = head;
        var key = _auditKeys.Current;
        IReadOnlyList<AuditDraft> records = audit;
        if (key is not null && !string.Equals(headKey, key.Id, StringComparison.Ordinal))
        {
            records = [AuditChain.KeyRecord(key, headKey, _time.GetUtcNow()), .. audit];
        }

        if (records.Count == 0)
        {
            return;
        }

        await using var batch = new NpgsqlBatch(conn, tx);
        foreach (var e in records)
        {
            seq++;
            var hash = AuditChain.Seal(prev, seq, e, key);
            batch.BatchCommands.Add(Command(AuditInsertSql,
                Int64(seq), Int64(e.At.UtcTicks), Text(e.Kind), Text(e.LinkId), Text(e.EventKey), Text(e.SourceNetwork), Text(e.SourcePerson),
                Text(e.Destination), Text(e.Decision), Text(e.RuleId), Text(e.Label), Text(e.ContentHash), Text(e.Content), Text(prev), Text(hash), Text(key?.Id ?? "")));
            prev = hash;
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    // Connector state holds the sources' cursors and "seen" marks: a deposed process must not move them either.
    private Task<int> StateWriteAsync(string sql, string scope, string key, string? value, CancellationToken cancellationToken) => FencedAsync(async () =>
    {
        await using var batch = _dataSource.CreateBatch();
        AddFence(batch);
        var write = value is null ? Command(sql, Text(scope), Text(key)) : Command(sql, Text(scope), Text(key), Text(value));
        batch.BatchCommands.Add(write);
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return write.RecordsAffected;
    });

    private Task UpdateOutboxAsync(string sql, long outboxId, int attempts, long notBefore, string error, CancellationToken cancellationToken) => FencedAsync(async () =>
    {
        await using var batch = _dataSource.CreateBatch();
        AddFence(batch);
        batch.BatchCommands.Add(Command(sql, Int32(attempts), Int64(notBefore), Text(error), Int64(_time.GetUtcNow().ToUnixTimeMilliseconds()), Int64(outboxId)));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return true;
    });

    /// <summary>
    /// Adds the fence as the batch's first statement when commits are fenced: it raises (and so aborts the whole
    /// transaction) unless the lease row still carries this process's epoch.
    /// </summary>
    /// <summary>Checks the lease epoch first in an explicit transaction (nothing when the store is not shared under a lease).</summary>
    private async Task CheckFenceAsync(NpgsqlConnection conn, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        if (_fence.Epoch is null)
        {
            return;
        }

        await using var fence = new NpgsqlBatch(conn, tx);
        AddFence(fence);
        await fence.ExecuteNonQueryAsync(cancellationToken);
    }

    private void AddFence(NpgsqlBatch batch)
    {
        if (_fence.Epoch is { } epoch)
        {
            batch.BatchCommands.Add(Command("SELECT leader_fence($1)", Int64(epoch)));
        }
    }

    /// <summary>Runs a write; a refusal by the fence tells the lease (this process must stop) and says so in a clear exception.</summary>
    private async Task<T> FencedAsync<T>(Func<Task<T>> write)
    {
        try
        {
            return await write();
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresMigrations.FencedSqlState)
        {
            if (_fence.Lose())
            {
                // Once: every write after this one is refused too (in-flight deliveries, cursors), and each would repeat it.
                _logger.LogWarning(StoreLog.Fenced,
                    "This process is deposed: another bridge process holds the leader lease now ({Reason}); its commits are refused from here on and it stops so the active one delivers alone",
                    ex.MessageText);
            }
            else
            {
                _logger.LogDebug(StoreLog.Fenced, "Commit refused (deposed): {Reason}", ex.MessageText);
            }

            throw new LeaderFencedException("commit refused: another bridge process holds the leader lease now (" + ex.MessageText + ")", ex);
        }
    }

    private static NpgsqlBatchCommand MapInsert(string originNetwork, string originNativeId, string networkId, string channelId, string nativeId, bool isOrigin) =>
        Command(MapInsertSql, Text(originNetwork), Text(originNativeId), Text(networkId), Text(channelId), Text(nativeId),
            new NpgsqlParameter<bool> { TypedValue = isOrigin });

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var cmd = new NpgsqlBatchCommand(sql);
        cmd.Parameters.AddRange(parameters);
        return cmd;
    }

    // Positional ($n) parameters with explicit types: no SQL rewriting, and NULLs are typed.
    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter<long> Int64(long value) => new() { TypedValue = value };

    private static NpgsqlParameter<int> Int32(int value) => new() { TypedValue = value };

    private static NpgsqlParameter<short> Int16(short value) => new() { TypedValue = value };
}
