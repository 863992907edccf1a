using Bridge.Core.Reactions;

namespace Bridge.Core.Storage.Sqlite;

/// <summary>Reaction sets per (message, person): schema step 5.</summary>
public sealed partial class SqliteBridgeStore
{
    public async Task<ReactionSet> GetReactionsAsync(ReactionOwner owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared("SELECT keys, at FROM reaction_sets WHERE network_id = $n AND message_id = $m AND person_id = $p;", null);
            AddOwner(cmd, owner);
            using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            return await r.ReadAsync(cancellationToken)
                ? new ReactionSet(ReactionKeysJson.Read(r.GetString(0)), new DateTimeOffset(r.GetInt64(1), TimeSpan.Zero))
                : ReactionSet.Empty;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<bool> PutReactionsAsync(ReactionOwner owner, ReactionSet set, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(set);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var tx = _connection.BeginTransaction();
            var upsert = Prepared("""
                INSERT INTO reaction_sets(network_id, message_id, person_id, keys, at) VALUES ($n, $m, $p, $k, $t)
                ON CONFLICT(network_id, message_id, person_id) DO UPDATE SET keys = excluded.keys, at = excluded.at WHERE excluded.at >= reaction_sets.at;
                """, tx);
            AddOwner(upsert, owner);
            upsert.Parameters.AddWithValue("$k", ReactionKeysJson.Write(set.Keys));
            upsert.Parameters.AddWithValue("$t", set.At.UtcTicks);
            if (await upsert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false; // the stored set is newer: an archived one never replaces it
            }

            var clear = Prepared("DELETE FROM reaction_ids WHERE network_id = $n AND message_id = $m AND person_id = $p;", tx);
            AddOwner(clear, owner);
            await clear.ExecuteNonQueryAsync(cancellationToken);
            foreach (var (key, nativeId) in set.Keys)
            {
                if (nativeId.Length == 0)
                {
                    continue;
                }

                var add = Prepared("""
                    INSERT INTO reaction_ids(network_id, native_id, message_id, person_id, reaction_key) VALUES ($n, $id, $m, $p, $key)
                    ON CONFLICT(network_id, native_id) DO UPDATE SET message_id = excluded.message_id, person_id = excluded.person_id, reaction_key = excluded.reaction_key;
                    """, tx);
                AddOwner(add, owner);
                add.Parameters.AddWithValue("$id", nativeId);
                add.Parameters.AddWithValue("$key", key);
                await add.ExecuteNonQueryAsync(cancellationToken);
            }

            await tx.CommitAsync(cancellationToken);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<FoundReaction?> FindReactionAsync(string networkId, string nativeId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var cmd = Prepared("SELECT message_id, person_id, reaction_key FROM reaction_ids WHERE network_id = $n AND native_id = $id;", null);
            cmd.Parameters.AddWithValue("$n", networkId);
            cmd.Parameters.AddWithValue("$id", nativeId);
            using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            return await r.ReadAsync(cancellationToken)
                ? new FoundReaction(new ReactionOwner(networkId, r.GetString(0), r.GetString(1)), r.GetString(2))
                : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static void AddOwner(Microsoft.Data.Sqlite.SqliteCommand cmd, ReactionOwner owner)
    {
        cmd.Parameters.AddWithValue("$n", owner.NetworkId);
        cmd.Parameters.AddWithValue("$m", owner.MessageId);
        cmd.Parameters.AddWithValue("$p", owner.PersonId);
    }
}
