using Bridge.Xmpp.Protocol;

namespace Bridge.Xmpp.Muc;

/// <summary>What the connector knows about one linked room.</summary>
internal sealed class RoomState(string channelId, Jid jid, int idCacheSize = RoomState.DefaultIdCacheSize)
{
    /// <summary>Entries per room in each id map and in the seen-set (what a correction, reply or reaction usually names is recent).</summary>
    public const int DefaultIdCacheSize = 1_024;

    /// <summary>The channel id as the link configuration names it (reported back to the core).</summary>
    public string ChannelId { get; } = channelId;

    public Jid Jid { get; } = jid;

    public string Key => Jid.BareString;

    /// <summary>Occupants as the bot sees them (nick → real JID / occupant id). Guarded by the connector's lock.</summary>
    public Dictionary<string, OccupantInfo> Occupants { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether the room shows every occupant's real JID to everyone (status 100 in our own join presence, 172 on a
    /// change); false until the room says so, so an unknown room is treated as semi-anonymous.
    /// </summary>
    public volatile bool RealJidsPublic;

    /// <summary>
    /// Skeletons (<see cref="NickSkeleton"/>) of the nicks real people (not our bot or puppets) have used in the room
    /// since the bridge started: a puppet never takes a nick that reads like one of them. Guarded by the connector's lock.
    /// </summary>
    public HashSet<string> RealNickSkeletons { get; } = new(StringComparer.Ordinal);

    /// <summary>The newest room stanza-id ingested (or recognised as ours), owned by the ingest worker.</summary>
    public string? LastStanzaId { get; set; }

    /// <summary>What the persistence loop last wrote, and what it will write next tick (one tick behind on purpose).</summary>
    public string? PersistedStanzaId { get; set; }

    public string? PendingPersist { get; set; }

    /// <summary>When the newest message ingested was sent (for <c>&lt;history since/&gt;</c> in rooms without an archive).</summary>
    public DateTimeOffset? LastStamp { get; set; }

    public DateTimeOffset? PersistedStamp { get; set; }

    /// <summary>True from a join that asked for history since <see cref="LastStamp"/> until the room's subject ends the replay.</summary>
    public volatile bool ReplayingHistory;

    /// <summary>
    /// True while the room's catch-up after a (re)connection runs (in the background, after the connector is ready):
    /// its live messages wait behind the archive and nothing is sent into it, so only this room waits.
    /// </summary>
    public bool CatchingUp => Volatile.Read(ref _catchUps) > 0;

    // A count, not a flag: the catch-up of a connection that just ended may still be finishing when the next begins.
    private int _catchUps;

    public void BeginCatchUp() => Interlocked.Increment(ref _catchUps);

    public void EndCatchUp() => Interlocked.Decrement(ref _catchUps);

    /// <summary>Whether the room answers MAM queries (unknown until tried).</summary>
    public bool? ArchiveAvailable { get; set; }

    /// <summary>Until when messages go into this room one at a time (after it refused or lost one), not in runs.</summary>
    public DateTimeOffset SendsOneAtATimeUntil { get; set; }

    // The three below are caches, least recently used out first. What they forget is read back when needed: the id
    // maps from the saved id maps in the store (msgid:/sent: connector state), and a replay the seen-set no longer
    // holds is refused by the core's own dedupe (the inbound table), so nothing is bridged twice.

    /// <summary>The sender's message id → the native id we reported (for corrections, replies, reactions that name the message id).</summary>
    public LruMap<string> MessageIdToNative { get; } = new(idCacheSize);

    /// <summary>Native id (stanza-id) → the sender's message id (for corrections we send as a puppet).</summary>
    public LruMap<string> NativeToMessageId { get; } = new(idCacheSize);

    /// <summary>Native ids (stanza-ids, else message ids) already handed to the core (dedupe of catch-up against live traffic).</summary>
    public LruMap<bool> Seen { get; } = new(idCacheSize);
}

/// <summary>
/// One occupant as the bot sees them. Unless the room is non-anonymous (<see cref="RoomState.RealJidsPublic"/>),
/// <paramref name="RealJid"/> is something only a moderator (perhaps the bridge) was told.
/// </summary>
internal sealed record OccupantInfo(string? RealJid, string? OccupantId);
