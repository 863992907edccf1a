using Bridge.Xmpp.Protocol;
using System.Xml.Linq;

namespace Bridge.Xmpp.Muc;

internal enum OccupancyState
{
    Absent,
    Joined,

    /// <summary>The room refused us for good (banned, members only, forbidden): never retried in a loop.</summary>
    Refused,
}

/// <summary>One of our JIDs (the bot or a puppet) in one room. Mutable fields are guarded by the connector's lock.</summary>
internal sealed class Occupancy(Jid occupantJid, RoomState room, string baseNick, bool isBot)
{
    public Jid OccupantJid { get; } = occupantJid;

    public RoomState Room { get; } = room;

    public bool IsBot { get; } = isBot;

    public string BaseNick { get; set; } = baseNick;

    public OccupancyState State { get; set; }

    /// <summary>The nick the room confirmed (self-presence with status 110).</summary>
    public string? Nick { get; set; }

    /// <summary>The nick of the join in flight.</summary>
    public string? TryingNick { get; set; }

    /// <summary>Completed by the room's answer to the join in flight (self-presence or error presence).</summary>
    public TaskCompletionSource<XElement>? Pending { get; set; }

    /// <summary>The join in flight, shared by everyone who needs this occupant in the room.</summary>
    public Task? JoinTask { get; set; }

    /// <summary>Set once a delivery needed this puppet here: it is re-joined after every reconnect.</summary>
    public bool Wanted { get; set; }

    public string? RefusedReason { get; set; }

    /// <summary>For the bot in a room without an archive: ask the join for the history since this instant.</summary>
    public DateTimeOffset? HistorySince { get; set; }

    /// <summary>A nick change to this base nick was refused; not tried again until the name changes again.</summary>
    public string? NickChangeGivenUpFor { get; set; }

    /// <summary>After a kick we wait before joining again, so a kicking moderator is not met with a loop.</summary>
    public DateTimeOffset RetryNotBefore { get; set; }
}
