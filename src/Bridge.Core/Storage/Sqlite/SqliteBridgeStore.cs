using System.Data.Common;
using Bridge.Core.Audit;
using Bridge.Core.Model;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Storage.Sqlite;

/// <summary>
/// The embedded default store: one SQLite file in WAL mode. One connection guarded by a gate, because SQLite
/// serialises writers anyway and a single connection avoids SQLITE_BUSY storms under load.
/// </summary>
public sealed partial class SqliteBridgeStore : IBridgeStore, IAdminStore
{
    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ILogger<SqliteBridgeStore> _logger;
    private readonly TimeProvider _time;
    private readonly string _synchronous;
    private readonly string _path;

    // Commands kept per SQL text so SQLite parses and plans each statement once, not on every call (parsing was a
    // visible share of the CPU per message). Only touched under _gate, like the connection itself.
    private readonly Dictionary<string, SqliteCommand> _prepared = new(StringComparer.Ordinal);

    // The audit chain's head (last seq and hash), read once and then advanced in memory after each commit, so an
    // ingest does not query the table for it. Cleared whenever a transaction may not have committed.
    private (long Sequence, string Hash, string KeyId)? _auditHead;

    private readonly AuditKeyRing _auditKeys;

    public SqliteBridgeStore(SqliteStoreOptions options, ILogger<SqliteBridgeStore> logger, TimeProvider? time = null, AuditKeyRing? auditKeys = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _auditKeys = auditKeys ?? AuditKeyRing.None;
        _path = options.Path;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _synchronous = options.Synchronous.Equals("full", StringComparison.OrdinalIgnoreCase) ? "FULL" : "NORMAL";
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = options.Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        };
        _connection = new SqliteConnection(builder.ToString());
    }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_connection.State != System.Data.ConnectionState.Open)
            {
                try
                {
                    SqliteFileMode.EnsurePrivate(_path, _logger);
                    await _connection.OpenAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
                {
                    // SQLite's own text ("unable to open database file") names no file: name it.
                    throw new InvalidOperationException($"cannot open the SQLite store '{Path.GetFullPath(_path)}' (database:sqlite:path): {ex.Message}", ex);
                }

                await ExecAsync($"PRAGMA journal_mode=WAL; PRAGMA synchronous={_synchronous}; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;", cancellationToken);
            }

            await ExecAsync("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);", cancellationToken);
            // Applied by number, not "everything above the highest": steps made on separate branches (4 and 5) can
            // arrive in either order, and a store that has 5 still gets 4 when it appears.
            var applied = await AppliedVersionsAsync(cancellationToken);
            foreach (var (version, sql) in SqliteMigrations.All)
            {
                if (applied.Contains(version))
                {
                    continue;
                }

                using var tx = _connection.BeginTransaction();
                await ExecAsync(sql, cancellationToken, tx);
                await ExecAsync($"INSERT INTO schema_version(version) VALUES ({version});", cancellationToken, tx);
                await tx.CommitAsync(cancellationToken);
                _logger.LogInformation(StoreLog.Migrated, "SQLite schema migrated to version {Version}", version);
            }

            if (_auditKeys.Current is not null)
            {
                // A new or rotated key takes effect at start: the key record is written now, not with the next event.
                using var tx = _connection.BeginTransaction();
                var head = await AppendAuditCoreAsync(tx, [], cancellationToken);
                await CommitAsync(tx, head, cancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<bool> IngestAsync(BridgeEvent origin, IReadOnlyList<OutboxDraft> outbox, IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(origin);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var tx = _connection.BeginTransaction();
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            if (!await InsertInboundAsync(tx, origin, now, cancellationToken))
            {
                return false;
            }

            await InsertOriginAsync(tx, origin, outbox, now, cancellationToken);
            var head = await AppendAuditCoreAsync(tx, audit, cancellationToken);
            await CommitAsync(tx, head, cancellationToken);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<IngestStored>> IngestBatchAsync(IReadOnlyList<IngestDraft> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        var results = new IngestStored[items.Count];
        if (items.Count == 0)
        {
            return results;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            // One transaction and one commit for the batch: a commit per event made a busy room's events queue
            // behind each other's commits, and every room's events behind them.
            using var tx = _connection.BeginTransaction();
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var audit = new List<AuditDraft>();
            var stored = false;
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                ArgumentNullException.ThrowIfNull(item.Origin);
                if (await IsDeliveredCoreAsync(tx, item.Origin.NetworkId, item.Origin.NativeId, cancellationToken))
                {
                    results[i] = IngestStored.Echo;
                    continue;
                }

                if (!await InsertInboundAsync(tx, item.Origin, now, cancellationToken))
                {
                    results[i] = IngestStored.Duplicate;
                    continue;
                }

                await InsertOriginAsync(tx, item.Origin, item.Outbox, now, cancellationToken);
                audit.AddRange(item.Audit);
                results[i] = IngestStored.Stored;
                stored = true;
            }

            if (!stored)
            {
                return results; // nothing written: the transaction is rolled back on dispose
            }

            var head = await AppendAuditCoreAsync(tx, audit, cancellationToken);
            await CommitAsync(tx, head, cancellationToken);
            return results;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Records (network, native id) as seen; false when it was seen before (in the store or earlier in <paramref name="tx"/>).</summary>
    private async Task<bool> InsertInboundAsync(SqliteTransaction tx, BridgeEvent origin, long now, CancellationToken cancellationToken)
    {
        var seen = Prepared("INSERT OR IGNORE INTO inbound(network_id, native_id, received_at) VALUES ($n, $id, $t);", tx);
        seen.Parameters.AddWithValue("$n", origin.NetworkId);
        seen.Parameters.AddWithValue("$id", origin.NativeId);
        seen.Parameters.AddWithValue("$t", now);
        return await seen.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>The origin in the message map (a message) and its outbox rows.</summary>
    private async Task InsertOriginAsync(SqliteTransaction tx, BridgeEvent origin, IReadOnlyList<OutboxDraft> outbox, long now, CancellationToken cancellationToken)
    {
        if (origin.Kind == BridgeEventKind.Message)
        {
            await InsertMapAsync(tx, origin.NetworkId, origin.NativeId, origin.NetworkId, origin.ChannelId, origin.NativeId, true, cancellationToken);
        }

        foreach (var draft in outbox)
        {
            var cmd = Prepared(
                "INSERT INTO outbox(link_id, origin_network, origin_native_id, dest_network, dest_channel, payload, label, state, attempts, not_before, created_at, updated_at) " +
                "VALUES ($l, $on, $oid, $dn, $dc, $p, $lab, 0, 0, 0, $t, $t);", tx);
            cmd.Parameters.AddWithValue("$l", draft.LinkId);
            cmd.Parameters.AddWithValue("$on", origin.NetworkId);
            cmd.Parameters.AddWithValue("$oid", origin.NativeId);
            cmd.Parameters.AddWithValue("$dn", draft.Destination.NetworkId);
            cmd.Parameters.AddWithValue("$dc", draft.Destination.ChannelId);
            cmd.Parameters.AddWithValue("$p", EventJson.Serialize(draft.Event));
            cmd.Parameters.AddWithValue("$lab", (object?)draft.Label ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$t", now);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public async Task<IReadOnlyList<OutboxItem>> GetPendingAsync(string networkId, IReadOnlyCollection<string> excludeChannels, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(excludeChannels);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
            // One statement per number of excluded channels (bounded by the channel count) and limit (the worker's batch
            // size), each prepared once. The limit is written into the statement, not bound: SQLite's plan depends on a
            // LIMIT's value, so a bound limit had the statement planned again at every read, once per message.
            var exclude = "";
            if (excludeChannels.Count > 0)
            {
                exclude = $" AND dest_channel NOT IN ({string.Join(',', Enumerable.Range(0, excludeChannels.Count).Select(i => "$x" + i))})";
            }

            var cmd = Prepared(
                $"SELECT {OutboxRows.Columns} FROM outbox " +
                $"WHERE dest_network = $n AND state = 0{exclude} ORDER BY id LIMIT {limit.ToString(System.Globalization.CultureInfo.InvariantCulture)};", null);
            var x = 0;
            foreach (var c in excludeChannels)
            {
                cmd.Parameters.AddWithValue("$x" + x++, c);
            }

            cmd.Parameters.AddWithValue("$n", networkId);
            var list = new List<OutboxItem>();
            using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                list.Add(OutboxRows.Read(reader));
            }

            return list;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task MarkDeliveredAsync(OutboxItem item, string? nativeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (nativeId is null)
        {
            await MarkSkippedAsync(item, "skipped", cancellationToken);
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var tx = _connection.BeginTransaction();
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var cmd = Prepared("UPDATE outbox SET state = $s, delivered_native_id = $nid, updated_at = $t WHERE id = $id;", tx);
            cmd.Parameters.AddWithValue("$s", (int)OutboxState.Delivered);
            cmd.Parameters.AddWithValue("$nid", nativeId);
            cmd.Parameters.AddWithValue("$t", now);
            cmd.Parameters.AddWithValue("$id", item.Id);
            await cmd.ExecuteNonQueryAsync(cancellationToken);

            if (item.Event.Kind == BridgeEventKind.Message)
            {
                await InsertMapAsync(tx, item.Event.NetworkId, item.Event.NativeId, item.Destination.NetworkId, item.Destination.ChannelId, nativeId, false, cancellationToken);
            }

            // Every id the bridge created is an echo if it comes back, whatever kind of event it was.
            var echo = Prepared("INSERT OR IGNORE INTO delivered_ids(network_id, native_id, delivered_at) VALUES ($n, $id, $t);", tx);
            echo.Parameters.AddWithValue("$n", item.Destination.NetworkId);
            echo.Parameters.AddWithValue("$t", now);
            echo.Parameters.AddWithValue("$id", nativeId);
            await echo.ExecuteNonQueryAsync(cancellationToken);

            await tx.CommitAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task MarkSkippedAsync(OutboxItem item, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var tx = _connection.BeginTransaction();
            var cmd = Prepared("UPDATE outbox SET state = $s, last_error = $e, updated_at = $t WHERE id = $id AND state = 0;", tx);
            cmd.Parameters.AddWithValue("$s", (int)OutboxState.Skipped);
            cmd.Parameters.AddWithValue("$e", reason);
            cmd.Parameters.AddWithValue("$t", _time.GetUtcNow().ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$id", item.Id);
            (long, string, string)? head = null;
            if (await cmd.ExecuteNonQueryAsync(cancellationToken) > 0)
            {
                head = await AppendAuditCoreAsync(tx, [DeliveryOutcomeAudit.For(_time.GetUtcNow(), item, DeliveryOutcomeAudit.Skipped, reason)], cancellationToken);
            }

            await CommitAsync(tx, head, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task RescheduleAsync(long outboxId, int attempts, DateTimeOffset notBefore, string error, CancellationToken cancellationToken) =>
        UpdateOutboxAsync("UPDATE outbox SET attempts = $a, not_before = $nb, last_error = $e, updated_at = $t WHERE id = $id;", outboxId, attempts, notBefore.ToUnixTimeMilliseconds(), error, cancellationToken);

    public async Task DeadLetterAsync(long outboxId, int attempts, string reason, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var tx = _connection.BeginTransaction();
            var read = Prepared($"SELECT {OutboxRows.Columns} FROM outbox WHERE id = $id AND state = 0;", tx);
            read.Parameters.AddWithValue("$id", outboxId);
            OutboxItem? item = null;
            using (var r = await read.ExecuteReaderAsync(cancellationToken))
            {
                if (await r.ReadAsync(cancellationToken))
                {
                    item = OutboxRows.Read(r);
                }
            }

            var cmd = Prepared($"UPDATE outbox SET state = {(int)OutboxState.DeadLettered}, attempts = $a, not_before = 0, last_error = $e, updated_at = $t WHERE id = $id;", tx);
            cmd.Parameters.AddWithValue("$a", attempts);
            cmd.Parameters.AddWithValue("$e", reason);
            cmd.Parameters.AddWithValue("$t", _time.GetUtcNow().ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$id", outboxId);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
            (long, string, string)? head = null;
            if (item is not null)
            {
                head = await AppendAuditCoreAsync(tx, [DeliveryOutcomeAudit.For(_time.GetUtcNow(), item, DeliveryOutcomeAudit.DeadLettered, reason)], cancellationToken);
            }

            await CommitAsync(tx, head, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<DeliveryState>> GetDeliveryStatesAsync(string originNetwork, string originNativeId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared("SELECT link_id, dest_network, dest_channel, state FROM outbox WHERE origin_network = $on AND origin_native_id = $oid ORDER BY id;", null);
            cmd.Parameters.AddWithValue("$on", originNetwork);
            cmd.Parameters.AddWithValue("$oid", originNativeId);
            var list = new List<DeliveryState>();
            using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                list.Add(new DeliveryState(r.GetString(0), new ChannelRef(r.GetString(1), r.GetString(2)), (OutboxState)r.GetInt32(3)));
            }

            return list;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<int> CountPendingAsync(string? networkId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared("SELECT COUNT(*) FROM outbox WHERE state = 0 AND ($n IS NULL OR dest_network = $n);", null);
            cmd.Parameters.AddWithValue("$n", (object?)networkId ?? DBNull.Value);
            return Convert.ToInt32(await cmd.ExecuteScalarAsync(cancellationToken));
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int limit, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared($"SELECT id, link_id, dest_network, dest_channel, origin_network, origin_native_id, last_error, attempts, updated_at FROM outbox WHERE state = {(int)OutboxState.DeadLettered} ORDER BY id DESC LIMIT $lim;", null);
            cmd.Parameters.AddWithValue("$lim", limit);
            var list = new List<DeadLetter>();
            using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                list.Add(new DeadLetter(r.GetInt64(0), r.GetString(1), new ChannelRef(r.GetString(2), r.GetString(3)), r.GetString(4), r.GetString(5),
                    r.IsDBNull(6) ? "" : r.GetString(6), r.GetInt32(7), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8))));
            }

            return list;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<MessageOrigin?> FindOriginAsync(string networkId, string nativeId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared("SELECT origin_network, origin_native_id FROM message_map WHERE network_id = $n AND native_id = $id LIMIT 1;", null);
            cmd.Parameters.AddWithValue("$n", networkId);
            cmd.Parameters.AddWithValue("$id", nativeId);
            using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            return await r.ReadAsync(cancellationToken) ? new MessageOrigin(r.GetString(0), r.GetString(1)) : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<string?> FindNativeIdAsync(MessageOrigin origin, ChannelRef destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(origin);
        ArgumentNullException.ThrowIfNull(destination);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared("SELECT native_id FROM message_map WHERE origin_network = $on AND origin_native_id = $oid AND network_id = $n AND channel_id = $c LIMIT 1;", null);
            cmd.Parameters.AddWithValue("$on", origin.NetworkId);
            cmd.Parameters.AddWithValue("$oid", origin.NativeId);
            cmd.Parameters.AddWithValue("$n", destination.NetworkId);
            cmd.Parameters.AddWithValue("$c", destination.ChannelId);
            return await cmd.ExecuteScalarAsync(cancellationToken) as string;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<bool> IsDeliveredNativeIdAsync(string networkId, string nativeId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await IsDeliveredCoreAsync(null, networkId, nativeId, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<bool> IsDeliveredCoreAsync(SqliteTransaction? tx, string networkId, string nativeId, CancellationToken cancellationToken)
    {
        var cmd = Prepared("SELECT 1 FROM delivered_ids WHERE network_id = $n AND native_id = $id;", tx);
        cmd.Parameters.AddWithValue("$n", networkId);
        cmd.Parameters.AddWithValue("$id", nativeId);
        return await cmd.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task AppendAuditAsync(IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var tx = _connection.BeginTransaction();
            var head = await AppendAuditCoreAsync(tx, audit, cancellationToken);
            await CommitAsync(tx, head, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<AuditRecord>> ReadAuditAsync(long afterSequence, DateTimeOffset? since, int limit, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared(
                $"SELECT {AuditRows.Columns} " +
                "FROM audit WHERE seq > $after AND at >= $since ORDER BY seq LIMIT $lim;", null);
            cmd.Parameters.AddWithValue("$after", afterSequence);
            cmd.Parameters.AddWithValue("$since", since?.UtcTicks ?? 0);
            cmd.Parameters.AddWithValue("$lim", limit);
            var list = new List<AuditRecord>();
            using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                list.Add(AuditRows.Read(r));
            }

            return list;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<string?> GetAsync(string scope, string key, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared("SELECT value FROM connector_state WHERE scope = $s AND key = $k;", null);
            cmd.Parameters.AddWithValue("$s", scope);
            cmd.Parameters.AddWithValue("$k", key);
            return await cmd.ExecuteScalarAsync(cancellationToken) as string;
        }
        finally
        {
            _gate.Release();
        }
    }

    private const string SetSql = "INSERT INTO connector_state(scope, key, value) VALUES ($s, $k, $v) ON CONFLICT(scope, key) DO UPDATE SET value = excluded.value;";

    public Task SetAsync(string scope, string key, string value, CancellationToken cancellationToken) =>
        StateWriteAsync(SetSql, scope, key, value, cancellationToken);

    public Task SetManyAsync(string scope, IReadOnlyList<KeyValuePair<string, string>> entries, CancellationToken cancellationToken) =>
        InOneCommitAsync(SetSql, entries, (cmd, entry) =>
        {
            cmd.Parameters.AddWithValue("$s", scope);
            cmd.Parameters.AddWithValue("$k", entry.Key);
            cmd.Parameters.AddWithValue("$v", entry.Value);
        }, cancellationToken);

    private const string DeleteSql = "DELETE FROM connector_state WHERE scope = $s AND key = $k;";

    public Task DeleteAsync(string scope, string key, CancellationToken cancellationToken) =>
        StateWriteAsync(DeleteSql, scope, key, null, cancellationToken);

    public Task DeleteManyAsync(string scope, IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        InOneCommitAsync(DeleteSql, keys, (cmd, key) =>
        {
            cmd.Parameters.AddWithValue("$s", scope);
            cmd.Parameters.AddWithValue("$k", key);
        }, cancellationToken);

    /// <summary>
    /// One statement per item, all in one transaction: one commit for the batch instead of one per item (each commit
    /// writes every page it touched to the WAL again).
    /// </summary>
    private async Task InOneCommitAsync<T>(string sql, IReadOnlyList<T> items, Action<SqliteCommand, T> bind, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var tx = _connection.BeginTransaction();
            foreach (var item in items)
            {
                var cmd = Prepared(sql, tx);
                bind(cmd, item);
                await cmd.ExecuteNonQueryAsync(cancellationToken);
            }

            await tx.CommitAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<bool> TryAddAsync(string scope, string key, string value, CancellationToken cancellationToken) =>
        await StateWriteAsync("INSERT OR IGNORE INTO connector_state(scope, key, value) VALUES ($s, $k, $v);", scope, key, value, cancellationToken) > 0;

    public async Task<IReadOnlyDictionary<string, string>> ListAsync(string scope, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared("SELECT key, value FROM connector_state WHERE scope = $s;", null);
            cmd.Parameters.AddWithValue("$s", scope);
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                result[r.GetString(0)] = r.GetString(1);
            }

            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            foreach (var cmd in _prepared.Values)
            {
                await cmd.DisposeAsync();
            }

            _prepared.Clear();
            await _connection.DisposeAsync();
        }
        finally
        {
            _gate.Release();
            _gate.Dispose();
        }
    }

    private async Task<int> StateWriteAsync(string sql, string scope, string key, string? value, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared(sql, null);
            cmd.Parameters.AddWithValue("$s", scope);
            cmd.Parameters.AddWithValue("$k", key);
            if (value is not null)
            {
                cmd.Parameters.AddWithValue("$v", value);
            }

            return await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task UpdateOutboxAsync(string sql, long outboxId, int attempts, long notBefore, string error, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared(sql, null);
            cmd.Parameters.AddWithValue("$a", attempts);
            cmd.Parameters.AddWithValue("$nb", notBefore);
            cmd.Parameters.AddWithValue("$e", error);
            cmd.Parameters.AddWithValue("$t", _time.GetUtcNow().ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$id", outboxId);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Appends the records inside <paramref name="tx"/>, MACed with the current audit key when there is one (preceded by a
    /// key record when the chain's head was not made with that key); returns the new chain head (null if nothing was added).
    /// </summary>
    private async Task<(long Sequence, string Hash, string KeyId)?> AppendAuditCoreAsync(SqliteTransaction tx, IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken)
    {
        var key = _auditKeys.Current;
        if (audit.Count == 0 && key is null)
        {
            return null;
        }

        long seq = 0;
        var prev = AuditChain.Genesis;
        var headKey = "";
        if (_auditHead is { } head)
        {
            (seq, prev, headKey) = head;
        }
        else
        {
            var last = Prepared("SELECT seq, hash, key_id FROM audit ORDER BY seq DESC LIMIT 1;", tx);
            using var r = await last.ExecuteReaderAsync(cancellationToken);
            if (await r.ReadAsync(cancellationToken))
            {
                seq = r.GetInt64(0);
                prev = r.GetString(1);
                headKey = r.GetString(2);
            }
        }

        IReadOnlyList<AuditDraft> records = audit;
        if (key is not null && !string.Equals(headKey, key.Id, StringComparison.Ordinal))
        {
            records = [AuditChain.KeyRecord(key, headKey, _time.GetUtcNow()), .. audit];
        }

        if (records.Count == 0)
        {
            return null;
        }

        foreach (var entry in records)
        {
            seq++;
            var hash = AuditChain.Seal(prev, seq, entry, key);
            var cmd = Prepared(AuditRows.InsertSql, tx);
            AuditRows.Bind(cmd, seq, entry, prev, hash, key?.Id ?? "");
            await cmd.ExecuteNonQueryAsync(cancellationToken);
            prev = hash;
        }

        return (seq, prev, key?.Id ?? "");
    }

    /// <summary>Commits and, only once the commit succeeded, advances the cached audit head.</summary>
    private async Task CommitAsync(SqliteTransaction tx, (long Sequence, string Hash, string KeyId)? newHead, CancellationToken cancellationToken)
    {
        try
        {
            await tx.CommitAsync(cancellationToken);
        }
        catch
        {
            // Unknown whether it reached the file: read the head from the table next time.
            _auditHead = null;
            throw;
        }

        if (newHead is not null)
        {
            _auditHead = newHead;
        }
    }

    private async Task InsertMapAsync(SqliteTransaction tx, string originNetwork, string originNativeId, string networkId, string channelId, string nativeId, bool isOrigin, CancellationToken cancellationToken)
    {
        var cmd = Prepared(
            "INSERT OR IGNORE INTO message_map(origin_network, origin_native_id, network_id, channel_id, native_id, is_origin) VALUES ($on, $oid, $n, $c, $nid, $o);", tx);
        cmd.Parameters.AddWithValue("$on", originNetwork);
        cmd.Parameters.AddWithValue("$oid", originNativeId);
        cmd.Parameters.AddWithValue("$n", networkId);
        cmd.Parameters.AddWithValue("$c", channelId);
        cmd.Parameters.AddWithValue("$nid", nativeId);
        cmd.Parameters.AddWithValue("$o", isOrigin ? 1 : 0);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private SqliteCommand Command(string sql, SqliteTransaction? tx)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    /// <summary>The kept command for <paramref name="sql"/>, with no parameters bound yet. Call only under the gate.</summary>
    private SqliteCommand Prepared(string sql, SqliteTransaction? tx)
    {
        if (!_prepared.TryGetValue(sql, out var cmd))
        {
            cmd = _connection.CreateCommand();
            cmd.CommandText = sql;
            _prepared[sql] = cmd;
        }

        cmd.Transaction = tx;
        cmd.Parameters.Clear();
        return cmd;
    }

    private async Task ExecAsync(string sql, CancellationToken cancellationToken, SqliteTransaction? tx = null)
    {
        using var cmd = Command(sql, tx);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<HashSet<int>> AppliedVersionsAsync(CancellationToken cancellationToken)
    {
        using var cmd = Command("SELECT version FROM schema_version;", null);
        using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        var versions = new HashSet<int>();
        while (await r.ReadAsync(cancellationToken))
        {
            versions.Add(r.GetInt32(0));
        }

        return versions;
    }

    private async Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        using var cmd = Command(sql, null);
        return await cmd.ExecuteScalarAsync(cancellationToken);
    }
}
