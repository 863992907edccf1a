using Bridge.Core.Audit;
using Bridge.Core.Model;
using Npgsql;

namespace Bridge.Core.Storage.Postgres;

/// <summary>The admin API's changes: links made at run time and dead letters (see <see cref="IAdminStore"/>).</summary>
public sealed partial class PostgresBridgeStore
{
    public async Task<IReadOnlyList<StoredLink>> GetLinksAsync(CancellationToken cancellationToken)
    {
        await using var cmd = _dataSource.CreateCommand("SELECT id, definition, updated_at, updated_by FROM api_links ORDER BY seq");
        var list = new List<StoredLink>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new StoredLink(r.GetString(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)), r.GetString(3)));
        }

        return list;
    }

    public Task<int> ChangeLinkAsync(string id, string? definitionJson, string changedBy, IReadOnlyList<ChannelRef> retired, string reason,
        IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken) =>
        FencedAsync(() => ChangeLinkCoreAsync(id, definitionJson, changedBy, retired, reason, audit, cancellationToken));

    private async Task<int> ChangeLinkCoreAsync(string id, string? definitionJson, string changedBy, IReadOnlyList<ChannelRef> retired, string reason,
        IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(retired);
        await using var conn = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken);
        // An operator's change is a commit like any other: a process that lost the lease must not make it.
        await CheckFenceAsync(conn, tx, cancellationToken);
        var now = _time.GetUtcNow();
        await using (var change = definitionJson is null
            ? new NpgsqlCommand("DELETE FROM api_links WHERE id = $1", conn, tx) { Parameters = { Text(id) } }
            : new NpgsqlCommand(
                "INSERT INTO api_links(id, seq, definition, updated_at, updated_by) VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM api_links), $2, $3, $4) " +
                "ON CONFLICT(id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at, updated_by = excluded.updated_by", conn, tx)
            {
                Parameters = { Text(id), Text(definitionJson), Int64(now.ToUnixTimeMilliseconds()), Text(changedBy) },
            })
        {
            await change.ExecuteNonQueryAsync(cancellationToken);
        }

        var records = new List<AuditDraft>(audit);
        var dead = 0;
        foreach (var endpoint in retired)
        {
            var items = new List<OutboxItem>();
            await using (var read = new NpgsqlCommand(
                $"SELECT {OutboxRows.Columns} FROM outbox WHERE state = 0 AND link_id = $1 AND dest_network = $2 AND dest_channel = $3 ORDER BY id FOR UPDATE", conn, tx))
            {
                read.Parameters.Add(Text(id));
                read.Parameters.Add(Text(endpoint.NetworkId));
                read.Parameters.Add(Text(endpoint.ChannelId));
                await using var r = await read.ExecuteReaderAsync(cancellationToken);
                while (await r.ReadAsync(cancellationToken))
                {
                    items.Add(OutboxRows.Read(r));
                }
            }

            foreach (var item in items)
            {
                await using var update = new NpgsqlCommand(
                    $"UPDATE outbox SET state = {(int)OutboxState.DeadLettered}, not_before = 0, last_error = $1, updated_at = $2 WHERE id = $3", conn, tx);
                update.Parameters.Add(Text(reason));
                update.Parameters.Add(Int64(now.ToUnixTimeMilliseconds()));
                update.Parameters.Add(Int64(item.Id));
                await update.ExecuteNonQueryAsync(cancellationToken);
                records.Add(DeliveryOutcomeAudit.For(now, item, DeliveryOutcomeAudit.DeadLettered, reason));
                dead++;
            }
        }

        if (records.Count > 0)
        {
            var head = await WriteLockedAsync(conn, tx, _ => { }, cancellationToken);
            await InsertAuditAsync(conn, tx, records, head, cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        return dead;
    }

    public Task<bool> ResolveDeadLetterAsync(long outboxId, bool retry, string reason, AuditDraft audit, CancellationToken cancellationToken) =>
        FencedAsync(() => ResolveDeadLetterCoreAsync(outboxId, retry, reason, audit, cancellationToken));

    private async Task<bool> ResolveDeadLetterCoreAsync(long outboxId, bool retry, string reason, AuditDraft audit, CancellationToken cancellationToken)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken);
        // An operator's change is a commit like any other: a process that lost the lease must not make it.
        await CheckFenceAsync(conn, tx, cancellationToken);
        await using (var update = new NpgsqlCommand(retry
            ? $"UPDATE outbox SET state = 0, attempts = 0, not_before = 0, last_error = $1, updated_at = $2 WHERE id = $3 AND state = {(int)OutboxState.DeadLettered}"
            : $"UPDATE outbox SET state = {(int)OutboxState.Skipped}, last_error = $1, updated_at = $2 WHERE id = $3 AND state = {(int)OutboxState.DeadLettered}", conn, tx))
        {
            update.Parameters.Add(Text(reason));
            update.Parameters.Add(Int64(_time.GetUtcNow().ToUnixTimeMilliseconds()));
            update.Parameters.Add(Int64(outboxId));
            if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false;
            }
        }

        var head = await WriteLockedAsync(conn, tx, _ => { }, cancellationToken);
        await InsertAuditAsync(conn, tx, [audit], head, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return true;
    }
}
