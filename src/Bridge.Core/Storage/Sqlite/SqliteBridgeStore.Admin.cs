using Bridge.Core.Audit;
using Bridge.Core.Model;

namespace Bridge.Core.Storage.Sqlite;

/// <summary>The admin API's changes: links made at run time and dead letters (see <see cref="IAdminStore"/>).</summary>
public sealed partial class SqliteBridgeStore
{
    public async Task<IReadOnlyList<StoredLink>> GetLinksAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared("SELECT id, definition, updated_at, updated_by FROM api_links ORDER BY seq;", null);
            var list = new List<StoredLink>();
            using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                list.Add(new StoredLink(r.GetString(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)), r.GetString(3)));
            }

            return list;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<int> ChangeLinkAsync(string id, string? definitionJson, string changedBy, IReadOnlyList<ChannelRef> retired, string reason,
        IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(retired);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var tx = _connection.BeginTransaction();
            var now = _time.GetUtcNow();
            if (definitionJson is null)
            {
                var delete = Prepared("DELETE FROM api_links WHERE id = $id;", tx);
                delete.Parameters.AddWithValue("$id", id);
                await delete.ExecuteNonQueryAsync(cancellationToken);
            }
            else
            {
                var upsert = Prepared(
                    "INSERT INTO api_links(id, seq, definition, updated_at, updated_by) VALUES ($id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM api_links), $d, $t, $by) " +
                    "ON CONFLICT(id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at, updated_by = excluded.updated_by;", tx);
                upsert.Parameters.AddWithValue("$id", id);
                upsert.Parameters.AddWithValue("$d", definitionJson);
                upsert.Parameters.AddWithValue("$t", now.ToUnixTimeMilliseconds());
                upsert.Parameters.AddWithValue("$by", changedBy);
                await upsert.ExecuteNonQueryAsync(cancellationToken);
            }

            var records = new List<AuditDraft>(audit);
            var dead = 0;
            foreach (var endpoint in retired)
            {
                var read = Prepared($"SELECT {OutboxRows.Columns} FROM outbox WHERE state = 0 AND link_id = $l AND dest_network = $n AND dest_channel = $c ORDER BY id;", tx);
                read.Parameters.AddWithValue("$l", id);
                read.Parameters.AddWithValue("$n", endpoint.NetworkId);
                read.Parameters.AddWithValue("$c", endpoint.ChannelId);
                var items = new List<OutboxItem>();
                using (var r = await read.ExecuteReaderAsync(cancellationToken))
                {
                    while (await r.ReadAsync(cancellationToken))
                    {
                        items.Add(OutboxRows.Read(r));
                    }
                }

                foreach (var item in items)
                {
                    var update = Prepared($"UPDATE outbox SET state = {(int)OutboxState.DeadLettered}, not_before = 0, last_error = $e, updated_at = $t WHERE id = $id;", tx);
                    update.Parameters.AddWithValue("$e", reason);
                    update.Parameters.AddWithValue("$t", now.ToUnixTimeMilliseconds());
                    update.Parameters.AddWithValue("$id", item.Id);
                    await update.ExecuteNonQueryAsync(cancellationToken);
                    records.Add(DeliveryOutcomeAudit.For(now, item, DeliveryOutcomeAudit.DeadLettered, reason));
                    dead++;
                }
            }

            var head = await AppendAuditCoreAsync(tx, records, cancellationToken);
            await CommitAsync(tx, head, cancellationToken);
            return dead;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<bool> ResolveDeadLetterAsync(long outboxId, bool retry, string reason, AuditDraft audit, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var tx = _connection.BeginTransaction();
            var update = Prepared(retry
                ? $"UPDATE outbox SET state = 0, attempts = 0, not_before = 0, last_error = $e, updated_at = $t WHERE id = $id AND state = {(int)OutboxState.DeadLettered};"
                : $"UPDATE outbox SET state = {(int)OutboxState.Skipped}, last_error = $e, updated_at = $t WHERE id = $id AND state = {(int)OutboxState.DeadLettered};", tx);
            update.Parameters.AddWithValue("$e", reason);
            update.Parameters.AddWithValue("$t", _time.GetUtcNow().ToUnixTimeMilliseconds());
            update.Parameters.AddWithValue("$id", outboxId);
            if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false;
            }

            var head = await AppendAuditCoreAsync(tx, [audit], cancellationToken);
            await CommitAsync(tx, head, cancellationToken);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }
}
