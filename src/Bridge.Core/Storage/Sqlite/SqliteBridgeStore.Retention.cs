using Bridge.Core.Storage.Retention;

namespace Bridge.Core.Storage.Sqlite;

/// <summary>Per-message connector state and retention (issue 12): what the store lets go once it is old enough.</summary>
public sealed partial class SqliteBridgeStore
{
    private const string SetPerMessageSql =
        "INSERT INTO connector_state(scope, key, value, message_at) VALUES ($s, $k, $v, $t) " +
        "ON CONFLICT(scope, key) DO UPDATE SET value = excluded.value, message_at = excluded.message_at;";

    public Task SetPerMessageAsync(string scope, IReadOnlyList<KeyValuePair<string, string>> entries, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return InOneCommitAsync(SetPerMessageSql, entries, (cmd, entry) =>
        {
            cmd.Parameters.AddWithValue("$s", scope);
            cmd.Parameters.AddWithValue("$k", entry.Key);
            cmd.Parameters.AddWithValue("$v", entry.Value);
            cmd.Parameters.AddWithValue("$t", now);
        }, cancellationToken);
    }

    public async Task<PruneResult> PruneAsync(PruneCutoffs cutoffs, int batchSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cutoffs);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var tx = _connection.BeginTransaction();

            // Only final states (1 delivered, 3 skipped): pending rows (0) and dead letters (2) stay whatever their age.
            var outbox = Prepared(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state IN (1, 3) AND updated_at < $c ORDER BY updated_at LIMIT $n);", tx);
            outbox.Parameters.AddWithValue("$c", cutoffs.DeliveredBefore.ToUnixTimeMilliseconds());
            outbox.Parameters.AddWithValue("$n", batchSize);
            var outboxRows = await outbox.ExecuteNonQueryAsync(cancellationToken);

            // A message still waiting somewhere keeps its ids, and so does everything received after it: an edit
            // queued behind it must still find its target's native id when it is delivered.
            var messagesBefore = cutoffs.MessagesBefore.ToUnixTimeMilliseconds();
            var oldestPending = Prepared("SELECT created_at FROM outbox WHERE state = 0 ORDER BY id LIMIT 1;", tx);
            if (await oldestPending.ExecuteScalarAsync(cancellationToken) is long pendingSince)
            {
                messagesBefore = Math.Min(messagesBefore, pendingSince);
            }

            var old = Prepared("SELECT network_id, native_id FROM inbound WHERE received_at < $c ORDER BY received_at LIMIT $n;", tx);
            old.Parameters.AddWithValue("$c", messagesBefore);
            old.Parameters.AddWithValue("$n", batchSize);
            var messages = new List<(string Network, string NativeId)>();
            using (var r = await old.ExecuteReaderAsync(cancellationToken))
            {
                while (await r.ReadAsync(cancellationToken))
                {
                    messages.Add((r.GetString(0), r.GetString(1)));
                }
            }

            foreach (var (network, nativeId) in messages)
            {
                var map = Prepared("DELETE FROM message_map WHERE origin_network = $n AND origin_native_id = $id;", tx);
                map.Parameters.AddWithValue("$n", network);
                map.Parameters.AddWithValue("$id", nativeId);
                await map.ExecuteNonQueryAsync(cancellationToken);
                var inbound = Prepared("DELETE FROM inbound WHERE network_id = $n AND native_id = $id;", tx);
                inbound.Parameters.AddWithValue("$n", network);
                inbound.Parameters.AddWithValue("$id", nativeId);
                await inbound.ExecuteNonQueryAsync(cancellationToken);
            }

            var echo = Prepared(
                "DELETE FROM delivered_ids WHERE (network_id, native_id) IN " +
                "(SELECT network_id, native_id FROM delivered_ids WHERE delivered_at < $c ORDER BY delivered_at LIMIT $n);", tx);
            echo.Parameters.AddWithValue("$c", messagesBefore);
            echo.Parameters.AddWithValue("$n", batchSize);
            var echoIds = await echo.ExecuteNonQueryAsync(cancellationToken);

            var state = Prepared(
                "DELETE FROM connector_state WHERE (scope, key) IN " +
                "(SELECT scope, key FROM connector_state WHERE message_at < $c ORDER BY message_at LIMIT $n);", tx);
            state.Parameters.AddWithValue("$c", messagesBefore);
            state.Parameters.AddWithValue("$n", batchSize);
            var stateRows = await state.ExecuteNonQueryAsync(cancellationToken);

            // Reaction sets unchanged for longer than the message map is kept, with the reaction ids that point into
            // them: the messages they sit on are older still, so their map rows (and any edit or reaction that could
            // reach them) are gone. Their times are UTC ticks, the rest milliseconds.
            const string oldSets = "SELECT network_id, message_id, person_id FROM reaction_sets WHERE at < $c ORDER BY at LIMIT $n";
            var reactionIds = Prepared($"DELETE FROM reaction_ids WHERE (network_id, message_id, person_id) IN ({oldSets});", tx);
            var reactionSets = Prepared($"DELETE FROM reaction_sets WHERE (network_id, message_id, person_id) IN ({oldSets});", tx);
            foreach (var cmd in new[] { reactionIds, reactionSets })
            {
                cmd.Parameters.AddWithValue("$c", DateTimeOffset.FromUnixTimeMilliseconds(messagesBefore).UtcTicks);
                cmd.Parameters.AddWithValue("$n", batchSize);
            }

            await reactionIds.ExecuteNonQueryAsync(cancellationToken);
            stateRows += await reactionSets.ExecuteNonQueryAsync(cancellationToken);

            await tx.CommitAsync(cancellationToken);
            return new PruneResult(outboxRows, messages.Count, echoIds, stateRows);
        }
        finally
        {
            _gate.Release();
        }
    }
}
