namespace Bridge.Core.Storage.Postgres;

/// <summary>
/// Versioned schema steps, applied in order at start inside one transaction. Never edit a released step: add a new one.
/// Column meanings and units mirror the SQLite schema (times in the outbox as Unix milliseconds, audit <c>at</c> as
/// UTC ticks) so the audit hash chain verifies the same on both stores and data can be copied between them.
/// </summary>
internal static class PostgresMigrations
{
    // Advisory lock keys are database-wide; deriving them from the schema keeps two bridge deployments that share a
    // database (one schema each) from blocking each other. coalesce: current_schema() is NULL when no schema exists yet.

    /// <summary>Held while migrating, so two bridge instances starting together do not both apply a step.</summary>
    public const string MigrationLockSql = "SELECT pg_advisory_xact_lock(hashtextextended('bridge.migrate:' || coalesce(current_schema(), ''), 0))";

    /// <summary>
    /// Held by every ingest and audit append until commit: outbox ids then become visible in id order,
    /// and audit sequence numbers cannot fork even when several processes share the database.
    /// </summary>
    public const string WriteLockSql = "SELECT pg_advisory_xact_lock(hashtextextended('bridge.write:' || coalesce(current_schema(), ''), 0))";

    /// <summary>SQLSTATE raised by <c>leader_fence</c> when a commit carries an epoch the lease has moved past.</summary>
    public const string FencedSqlState = "BR001";

    /// <summary>
    /// The leader lease row (one per schema) and the fence every commit of an active process calls. Idempotent: the lease
    /// runs it before the store's migrations (a standby must read the row before it may migrate anything), and step 3
    /// runs it again so that the schema is whole whichever came first.
    /// </summary>
    /// <remarks>
    /// The fence takes FOR KEY SHARE on the row: it does not block the holder's heartbeat (a plain UPDATE of non-key
    /// columns) but it does block a takeover (SELECT ... FOR UPDATE) until the commit is done, and a commit that comes
    /// after a takeover re-reads the row and finds the new epoch. So a commit and a takeover are always ordered.
    /// </remarks>
    public const string LeaseSchemaSql = """
        CREATE TABLE IF NOT EXISTS leader_lease(id smallint PRIMARY KEY CHECK (id = 1), holder text NOT NULL, epoch bigint NOT NULL,
                                                acquired_at timestamptz NOT NULL, renewed_at timestamptz NOT NULL, expires_at timestamptz NOT NULL);
        INSERT INTO leader_lease VALUES (1, '', 0, '-infinity', '-infinity', '-infinity') ON CONFLICT DO NOTHING;
        CREATE OR REPLACE FUNCTION leader_fence(expected bigint) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM 1 FROM leader_lease WHERE id = 1 AND epoch = expected FOR KEY SHARE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'fenced: the leader lease has moved past epoch %', expected USING ERRCODE = 'BR001';
            END IF;
        END
        $$;
        """;

    public static IReadOnlyList<(int Version, string Sql)> All { get; } =
    [
        (1, """
            CREATE TABLE inbound(network_id text NOT NULL, native_id text NOT NULL, received_at bigint NOT NULL,
                                 PRIMARY KEY(network_id, native_id));
            CREATE TABLE message_map(origin_network text NOT NULL, origin_native_id text NOT NULL, network_id text NOT NULL,
                                     channel_id text NOT NULL, native_id text NOT NULL, is_origin boolean NOT NULL,
                                     PRIMARY KEY(origin_network, origin_native_id, network_id, channel_id));
            CREATE INDEX ix_message_map_native ON message_map(network_id, native_id);
            CREATE TABLE delivered_ids(network_id text NOT NULL, native_id text NOT NULL, PRIMARY KEY(network_id, native_id));
            CREATE TABLE outbox(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, link_id text NOT NULL,
                                origin_network text NOT NULL, origin_native_id text NOT NULL,
                                dest_network text NOT NULL, dest_channel text NOT NULL, payload text NOT NULL, label text,
                                state smallint NOT NULL, attempts integer NOT NULL, not_before bigint NOT NULL,
                                created_at bigint NOT NULL, updated_at bigint NOT NULL, last_error text, delivered_native_id text);
            -- Only pending rows are ever scanned by the delivery workers; delivered rows stay out of this index.
            CREATE INDEX ix_outbox_pending ON outbox(dest_network, id) WHERE state = 0;
            CREATE INDEX ix_outbox_dead ON outbox(id) WHERE state = 2;
            CREATE TABLE connector_state(scope text NOT NULL, key text NOT NULL, value text NOT NULL, PRIMARY KEY(scope, key));
            CREATE TABLE audit(seq bigint PRIMARY KEY CHECK (seq > 0), at bigint NOT NULL, kind text NOT NULL, link_id text NOT NULL,
                               event_key text NOT NULL, source_network text NOT NULL, source_person text NOT NULL,
                               destination text NOT NULL, decision text NOT NULL, rule_id text NOT NULL, label text NOT NULL,
                               content_hash text NOT NULL, content text, prev_hash text NOT NULL, hash text NOT NULL);
            CREATE INDEX ix_audit_at ON audit(at);
            -- Append-only: the database refuses edits (a superuser can still disable triggers; the hash chain detects that).
            CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit trail is append-only' USING ERRCODE = 'insufficient_privilege';
            END
            $$;
            CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
            CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
            """),
        // The id of the HMAC key that made a record's hash ('' = plain SHA-256, as every record before keys existed).
        (2, "ALTER TABLE audit ADD COLUMN key_id text NOT NULL DEFAULT ''"),
        // The leader lease row and the commit fence (see LeaseSchemaSql).
        (3, LeaseSchemaSql),
        // Links made through the admin API (the file's links are never stored). seq keeps creation order across updates.
        (4, "CREATE TABLE api_links(id text PRIMARY KEY, seq bigint NOT NULL, definition text NOT NULL, updated_at bigint NOT NULL, updated_by text NOT NULL)"),
        // Retention (issue 12): per-message connector state carries when it was written (NULL: kept for ever; the id maps
        // and Matrix transaction ids already stored count from now), and indexes find what is old enough without a scan.
        (5, """
            ALTER TABLE connector_state ADD COLUMN message_at bigint;
            UPDATE connector_state SET message_at = (extract(epoch FROM now()) * 1000)::bigint
             WHERE (scope LIKE 'xmpp:%' AND (key LIKE 'msgid:%' OR key LIKE 'sent:%')) OR (scope LIKE 'matrix:%' AND scope LIKE '%:txns');
            CREATE INDEX ix_connector_state_message_at ON connector_state(message_at) WHERE message_at IS NOT NULL;
            CREATE INDEX ix_inbound_received ON inbound(received_at);
            ALTER TABLE delivered_ids ADD COLUMN delivered_at bigint;
            UPDATE delivered_ids SET delivered_at = (extract(epoch FROM now()) * 1000)::bigint;
            CREATE INDEX ix_delivered_ids_at ON delivered_ids(delivered_at);
            CREATE INDEX ix_outbox_done ON outbox(updated_at) WHERE state IN (1, 3);
            """),
        // Reaction sets per (message, person) and the reaction events that show them (Core/Reactions). at: UTC ticks.
        (6, """
            CREATE TABLE reaction_sets(network_id text NOT NULL, message_id text NOT NULL, person_id text NOT NULL, keys text NOT NULL, at bigint NOT NULL,
                                       PRIMARY KEY(network_id, message_id, person_id));
            CREATE TABLE reaction_ids(network_id text NOT NULL, native_id text NOT NULL, message_id text NOT NULL, person_id text NOT NULL, reaction_key text NOT NULL,
                                      PRIMARY KEY(network_id, native_id));
            CREATE INDEX ix_reaction_ids_owner ON reaction_ids(network_id, message_id, person_id);
            CREATE INDEX ix_reaction_sets_at ON reaction_sets(at);
            """),
    ];
}
