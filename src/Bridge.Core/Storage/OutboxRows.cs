using System.Data.Common;
using Bridge.Core.Model;

namespace Bridge.Core.Storage;

/// <summary>The outbox table's column mapping for pending rows, shared by the SQL stores.</summary>
internal static class OutboxRows
{
    /// <summary>The columns <see cref="Read"/> expects, in order.</summary>
    public const string Columns = "id, link_id, dest_network, dest_channel, payload, label, attempts, not_before, created_at";

    public static OutboxItem Read(DbDataReader r) => new()
    {
        Id = r.GetInt64(0),
        LinkId = r.GetString(1),
        Destination = new ChannelRef(r.GetString(2), r.GetString(3)),
        Event = EventJson.Deserialize(r.GetString(4)),
        Label = r.IsDBNull(5) ? null : r.GetString(5),
        Attempts = r.GetInt32(6),
        NotBefore = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7)),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8)),
    };
}
