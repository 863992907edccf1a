namespace Bridge.Core.Storage.Sqlite;

/// <summary>Versioned schema steps, applied in order at start. Never edit a released step: add a new one.</summary>
internal static class SqliteMigrations
{
    public static IReadOnlyList<(int Version, string Sql)> All { get; } =
    [
        (1, """
            CREATE TABLE inbound(network_id TEXT NOT NULL, native_id TEXT NOT NULL, received_at INTEGER NOT NULL, PRIMARY KEY(network_id, native_id)) WITHOUT ROWID;
            CREATE TABLE message_map(origin_network TEXT NOT NULL, origin_native_id TEXT NOT NULL, network_id TEXT NOT NULL, channel_id TEXT NOT NULL,
                                     native_id TEXT NOT NULL, is_origin INTEGER NOT NULL, PRIMARY KEY(origin_network, origin_native_id, network_id, channel_id)) WITHOUT ROWID;
            CREATE INDEX ix_message_map_native ON message_map(network_id, native_id);
            CREATE TABLE delivered_ids(network_id TEXT NOT NULL, native_id TEXT NOT NULL, PRIMARY KEY(network_id, native_id)) WITHOUT ROWID;
            CREATE TABLE outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, link_id TEXT NOT NULL, origin_network TEXT NOT NULL, origin_native_id TEXT NOT NULL,
                                dest_network TEXT NOT NULL, dest_channel TEXT NOT NULL, payload TEXT NOT NULL, label TEXT, state INTEGER NOT NULL,
                                attempts INTEGER NOT NULL, not_before INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
                                last_error TEXT, delivered_native_id TEXT);
            CREATE INDEX ix_outbox_pending ON outbox(dest_network, state, id);
            CREATE TABLE connector_state(scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(scope, key)) WITHOUT ROWID;
            CREATE TABLE audit(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, link_id TEXT NOT NULL, event_key TEXT NOT NULL,
                               source_network TEXT NOT NULL, source_person TEXT NOT NULL, destination TEXT NOT NULL, decision TEXT NOT NULL,
                               rule_id TEXT NOT NULL, label TEXT NOT NULL, content_hash TEXT NOT NULL, content TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
            CREATE INDEX ix_audit_at ON audit(at);
            -- Append-only: the database refuses edits; the hash chain detects whatever gets past this.
            CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
            CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
            """),
        // The id of the HMAC key that made a record's hash ('' = plain SHA-256, as every record before keys existed).
        (2, "ALTER TABLE audit ADD COLUMN key_id TEXT NOT NULL DEFAULT '';"),
        // Links made through the admin API (the file's links are never stored). seq keeps creation order across updates.
        (3, """
            CREATE TABLE api_links(id TEXT PRIMARY KEY, seq INTEGER NOT NULL, definition TEXT NOT NULL, updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL);
            CREATE INDEX ix_outbox_dead ON outbox(state, id);
            """),
        // Retention (issue 12): per-message connector state carries when it was written (NULL: kept for ever; the id maps
        // and Matrix transaction ids already stored count from now), and indexes find what is old enough without a scan.
        (4, """
            ALTER TABLE connector_state ADD COLUMN message_at INTEGER;
            UPDATE connector_state SET message_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000
             WHERE (scope LIKE 'xmpp:%' AND (key LIKE 'msgid:%' OR key LIKE 'sent:%')) OR (scope LIKE 'matrix:%' AND scope LIKE '%:txns');
            CREATE INDEX ix_connector_state_message_at ON connector_state(message_at) WHERE message_at IS NOT NULL;
            CREATE INDEX ix_inbound_received ON inbound(received_at);
            ALTER TABLE delivered_ids ADD COLUMN delivered_at INTEGER;
            UPDATE delivered_ids SET delivered_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000;
            CREATE INDEX ix_delivered_ids_at ON delivered_ids(delivered_at);
            CREATE INDEX ix_outbox_done ON outbox(updated_at) WHERE state IN (1, 3);
            """),
        // Reaction sets per (message, person) and the reaction events that show them (Core/Reactions).
        (5, """
            CREATE TABLE reaction_sets(network_id TEXT NOT NULL, message_id TEXT NOT NULL, person_id TEXT NOT NULL, keys TEXT NOT NULL, at INTEGER NOT NULL,
                                       PRIMARY KEY(network_id, message_id, person_id)) WITHOUT ROWID;
            CREATE TABLE reaction_ids(network_id TEXT NOT NULL, native_id TEXT NOT NULL, message_id TEXT NOT NULL, person_id TEXT NOT NULL, reaction_key TEXT NOT NULL,
                                      PRIMARY KEY(network_id, native_id)) WITHOUT ROWID;
            CREATE INDEX ix_reaction_ids_owner ON reaction_ids(network_id, message_id, person_id);
            CREATE INDEX ix_reaction_sets_at ON reaction_sets(at);
            """),
        // The worker reads a network's pending rows leaving out the rooms that wait (a flooded room over its rate): with the
        // room in the index, each left-out row is passed over in the index alone instead of by a lookup of its table row.
        (6, """
            DROP INDEX ix_outbox_pending;
            CREATE INDEX ix_outbox_pending ON outbox(dest_network, state, id, dest_channel);
            """),
        // Only the rows a query looks for are indexed (as PostgreSQL's indexes were from the start): the pending rows and
        // the dead letters. Indexing every row by its state put each row in both indexes for as long as retention kept it,
        // so every commit that added or delivered a row rewrote their pages in the WAL (issue 12). Each query names the
        // state as a literal, which is what lets SQLite use a partial index.
        (7, """
            DROP INDEX ix_outbox_pending;
            CREATE INDEX ix_outbox_pending ON outbox(dest_network, id, dest_channel) WHERE state = 0;
            DROP INDEX ix_outbox_dead;
            CREATE INDEX ix_outbox_dead ON outbox(id) WHERE state = 2;
            """),
    ];
}
