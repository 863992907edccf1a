using Bridge.Core.Reactions;
using Npgsql;

namespace Bridge.Core.Storage.Postgres;

/// <summary>Reaction sets per (message, person): schema step 6.</summary>
public sealed partial class PostgresBridgeStore
{
    public async Task<ReactionSet> GetReactionsAsync(ReactionOwner owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        await using var cmd = _dataSource.CreateCommand("SELECT keys, at FROM reaction_sets WHERE network_id = $1 AND message_id = $2 AND person_id = $3");
        cmd.Parameters.Add(Text(owner.NetworkId));
        cmd.Parameters.Add(Text(owner.MessageId));
        cmd.Parameters.Add(Text(owner.PersonId));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        return await r.ReadAsync(cancellationToken)
            ? new ReactionSet(ReactionKeysJson.Read(r.GetString(0)), new DateTimeOffset(r.GetInt64(1), TimeSpan.Zero))
            : ReactionSet.Empty;
    }

    public Task<bool> PutReactionsAsync(ReactionOwner owner, ReactionSet set, CancellationToken cancellationToken) =>
        FencedAsync(() => PutReactionsCoreAsync(owner, set, cancellationToken));

    private async Task<bool> PutReactionsCoreAsync(ReactionOwner owner, ReactionSet set, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(set);
        await using var conn = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken);
        await CheckFenceAsync(conn, tx, cancellationToken);
        await using (var upsert = new NpgsqlCommand("""
            INSERT INTO reaction_sets(network_id, message_id, person_id, keys, at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (network_id, message_id, person_id) DO UPDATE SET keys = excluded.keys, at = excluded.at WHERE excluded.at >= reaction_sets.at
            """, conn, tx))
        {
            upsert.Parameters.Add(Text(owner.NetworkId));
            upsert.Parameters.Add(Text(owner.MessageId));
            upsert.Parameters.Add(Text(owner.PersonId));
            upsert.Parameters.Add(Text(ReactionKeysJson.Write(set.Keys)));
            upsert.Parameters.Add(Int64(set.At.UtcTicks));
            if (await upsert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false; // the stored set is newer: an archived one never replaces it
            }
        }

        await using var batch = new NpgsqlBatch(conn, tx);
        batch.BatchCommands.Add(Command("DELETE FROM reaction_ids WHERE network_id = $1 AND message_id = $2 AND person_id = $3",
            Text(owner.NetworkId), Text(owner.MessageId), Text(owner.PersonId)));
        foreach (var (key, nativeId) in set.Keys)
        {
            if (nativeId.Length > 0)
            {
                batch.BatchCommands.Add(Command("""
                    INSERT INTO reaction_ids(network_id, native_id, message_id, person_id, reaction_key) VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (network_id, native_id) DO UPDATE SET message_id = excluded.message_id, person_id = excluded.person_id, reaction_key = excluded.reaction_key
                    """, Text(owner.NetworkId), Text(nativeId), Text(owner.MessageId), Text(owner.PersonId), Text(key)));
            }
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<FoundReaction?> FindReactionAsync(string networkId, string nativeId, CancellationToken cancellationToken)
    {
        await using var cmd = _dataSource.CreateCommand("SELECT message_id, person_id, reaction_key FROM reaction_ids WHERE network_id = $1 AND native_id = $2");
        cmd.Parameters.Add(Text(networkId));
        cmd.Parameters.Add(Text(nativeId));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        return await r.ReadAsync(cancellationToken)
            ? new FoundReaction(new ReactionOwner(networkId, r.GetString(0), r.GetString(1)), r.GetString(2))
            : null;
    }
}
