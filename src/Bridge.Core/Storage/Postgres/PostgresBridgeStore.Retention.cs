using Bridge.Core.Storage.Retention;
using Npgsql;

namespace Bridge.Core.Storage.Postgres;

/// <summary>Per-message connector state and retention (issue 12): what the store lets go once it is old enough.</summary>
public sealed partial class PostgresBridgeStore
{
    public Task SetPerMessageAsync(string scope, IReadOnlyList<KeyValuePair<string, string>> entries, CancellationToken cancellationToken) => FencedAsync(async () =>
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return true;
        }

        // One batch, one implicit transaction: the fence first, then every key.
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var batch = _dataSource.CreateBatch();
        AddFence(batch);
        foreach (var (key, value) in entries)
        {
            batch.BatchCommands.Add(Command(
                "INSERT INTO connector_state(scope, key, value, message_at) VALUES ($1, $2, $3, $4) " +
                "ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, message_at = excluded.message_at",
                Text(scope), Text(key), Text(value), Int64(now)));
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        return true;
    });

    public Task<PruneResult> PruneAsync(PruneCutoffs cutoffs, int batchSize, CancellationToken cancellationToken) => FencedAsync(async () =>
    {
        ArgumentNullException.ThrowIfNull(cutoffs);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        await using var conn = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken);
        await CheckFenceAsync(conn, tx, cancellationToken); // a deposed process deletes nothing

        // Only final states (1 delivered, 3 skipped): pending rows (0) and dead letters (2) stay whatever their age.
        var outboxRows = await ExecuteAsync(conn, tx,
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state IN (1, 3) AND updated_at < $1 ORDER BY updated_at LIMIT $2)",
            cancellationToken, Int64(cutoffs.DeliveredBefore.ToUnixTimeMilliseconds()), Int32(batchSize));

        // A message still waiting somewhere keeps its ids, and so does everything received after it: an edit queued
        // behind it must still find its target's native id when it is delivered.
        var messagesBefore = cutoffs.MessagesBefore.ToUnixTimeMilliseconds();
        await using (var oldestPending = new NpgsqlCommand("SELECT created_at FROM outbox WHERE state = 0 ORDER BY id LIMIT 1", conn, tx))
        {
            if (await oldestPending.ExecuteScalarAsync(cancellationToken) is long pendingSince)
            {
                messagesBefore = Math.Min(messagesBefore, pendingSince);
            }
        }

        // The messages, their map rows (the origin's and every delivery's) in one statement each.
        var messages = await ExecuteAsync(conn, tx, """
            WITH old AS (SELECT network_id, native_id FROM inbound WHERE received_at < $1 ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED),
                 map AS (DELETE FROM message_map m USING old WHERE m.origin_network = old.network_id AND m.origin_native_id = old.native_id)
            DELETE FROM inbound i USING old WHERE i.network_id = old.network_id AND i.native_id = old.native_id
            """, cancellationToken, Int64(messagesBefore), Int32(batchSize));

        var echoIds = await ExecuteAsync(conn, tx,
            "DELETE FROM delivered_ids WHERE (network_id, native_id) IN (SELECT network_id, native_id FROM delivered_ids WHERE delivered_at < $1 ORDER BY delivered_at LIMIT $2)",
            cancellationToken, Int64(messagesBefore), Int32(batchSize));

        var stateRows = await ExecuteAsync(conn, tx,
            "DELETE FROM connector_state WHERE (scope, key) IN (SELECT scope, key FROM connector_state WHERE message_at < $1 ORDER BY message_at LIMIT $2)",
            cancellationToken, Int64(messagesBefore), Int32(batchSize));

        // Reaction sets unchanged for longer than the message map is kept, with the reaction ids that point into them:
        // the messages they sit on are older still, so their map rows are gone. Their times are UTC ticks.
        const string oldSets = "SELECT network_id, message_id, person_id FROM reaction_sets WHERE at < $1 ORDER BY at LIMIT $2";
        var setsBefore = DateTimeOffset.FromUnixTimeMilliseconds(messagesBefore).UtcTicks;
        await ExecuteAsync(conn, tx, $"DELETE FROM reaction_ids WHERE (network_id, message_id, person_id) IN ({oldSets})",
            cancellationToken, Int64(setsBefore), Int32(batchSize));
        stateRows += await ExecuteAsync(conn, tx, $"DELETE FROM reaction_sets WHERE (network_id, message_id, person_id) IN ({oldSets})",
            cancellationToken, Int64(setsBefore), Int32(batchSize));

        await tx.CommitAsync(cancellationToken);
        return new PruneResult(outboxRows, messages, echoIds, stateRows);
    });

    private static async Task<int> ExecuteAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        cmd.Parameters.AddRange(parameters);
        return await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}
