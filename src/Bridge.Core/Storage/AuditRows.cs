using System.Data.Common;

namespace Bridge.Core.Storage;

/// <summary>The audit table's column mapping, shared by the SQL stores.</summary>
internal static class AuditRows
{
    public const string InsertSql =
        "INSERT INTO audit(seq, at, kind, link_id, event_key, source_network, source_person, destination, decision, rule_id, label, content_hash, content, prev_hash, hash, key_id) " +
        "VALUES (@seq, @at, @kind, @link, @ev, @sn, @sp, @dest, @dec, @rule, @label, @ch, @content, @prev, @hash, @kid);";

    /// <summary>The columns <see cref="Read"/> expects, in order.</summary>
    public const string Columns =
        "seq, at, kind, link_id, event_key, source_network, source_person, destination, decision, rule_id, label, content_hash, content, prev_hash, hash, key_id";

    public static void Bind(DbCommand cmd, long seq, AuditDraft e, string prev, string hash, string keyId)
    {
        Add(cmd, "@kid", keyId);
        Add(cmd, "@seq", seq);
        Add(cmd, "@at", e.At.UtcTicks);
        Add(cmd, "@kind", e.Kind);
        Add(cmd, "@link", e.LinkId);
        Add(cmd, "@ev", e.EventKey);
        Add(cmd, "@sn", e.SourceNetwork);
        Add(cmd, "@sp", e.SourcePerson);
        Add(cmd, "@dest", e.Destination);
        Add(cmd, "@dec", e.Decision);
        Add(cmd, "@rule", e.RuleId);
        Add(cmd, "@label", e.Label);
        Add(cmd, "@ch", e.ContentHash);
        Add(cmd, "@content", (object?)e.Content ?? DBNull.Value);
        Add(cmd, "@prev", prev);
        Add(cmd, "@hash", hash);
    }

    /// <summary>Reads a row selected as <see cref="Columns"/>.</summary>
    public static AuditRecord Read(DbDataReader r) => new()
    {
        Sequence = r.GetInt64(0),
        Entry = new AuditDraft
        {
            At = new DateTimeOffset(r.GetInt64(1), TimeSpan.Zero),
            Kind = r.GetString(2),
            LinkId = r.GetString(3),
            EventKey = r.GetString(4),
            SourceNetwork = r.GetString(5),
            SourcePerson = r.GetString(6),
            Destination = r.GetString(7),
            Decision = r.GetString(8),
            RuleId = r.GetString(9),
            Label = r.GetString(10),
            ContentHash = r.GetString(11),
            Content = r.IsDBNull(12) ? null : r.GetString(12),
        },
        PreviousHash = r.GetString(13),
        Hash = r.GetString(14),
        KeyId = r.GetString(15),
    };

    private static void Add(DbCommand cmd, string name, object value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        cmd.Parameters.Add(p);
    }
}
