using System.Text.Json.Nodes;

namespace Sandbox.Matrix.Rooms;

/// <summary>A room: its ordered timeline and current state (the sandbox is a single server, so the DAG is linear).</summary>
internal sealed class Room(string roomId, string creator)
{
    public string RoomId { get; } = roomId;

    public string Creator { get; } = creator;

    public List<StoredEvent> Timeline { get; } = [];

    public Dictionary<(string Type, string StateKey), StoredEvent> State { get; } = [];

    /// <summary>Every alias currently pointing at this room (used for appservice interest).</summary>
    public HashSet<string> Aliases { get; } = new(StringComparer.Ordinal);

    /// <summary>Who is typing now: user id → when it ends (ms since the epoch). Ephemeral: never in the timeline.</summary>
    public Dictionary<string, long> Typing { get; } = new(StringComparer.Ordinal);

    /// <summary>Stream position of the last change of <see cref="Typing"/> (0: never), so /sync sends m.typing only when it changed.</summary>
    public long TypingPosition { get; set; }

    public string? Membership(string userId) =>
        State.TryGetValue(("m.room.member", userId), out var ev) ? ev.Content["membership"]?.GetValue<string>() : null;

    public string JoinRule =>
        State.TryGetValue(("m.room.join_rules", string.Empty), out var ev) && ev.Content["join_rule"] is JsonValue v
            && v.TryGetValue(out string? rule) ? rule : "invite";

    public IEnumerable<string> MembersWith(string membership)
    {
        foreach (var ((type, stateKey), ev) in State)
        {
            if (type == "m.room.member" && ev.Content["membership"]?.GetValue<string>() == membership)
            {
                yield return stateKey;
            }
        }
    }

    public string? CanonicalAlias =>
        State.TryGetValue(("m.room.canonical_alias", string.Empty), out var ev) && ev.Content["alias"] is JsonValue v
            && v.TryGetValue(out string? alias) ? alias : null;

    private JsonObject? PowerLevels =>
        State.TryGetValue(("m.room.power_levels", string.Empty), out var ev) ? ev.Content : null;

    public long UserLevel(string userId)
    {
        var pl = PowerLevels;
        if (pl is null)
        {
            return userId == Creator ? 100 : 0;
        }

        if (pl["users"] is JsonObject users && TryInteger(users[userId], out var level))
        {
            return level;
        }

        return Number(pl, "users_default", 0);
    }

    public long InviteLevel => PowerLevels is { } pl ? Number(pl, "invite", 0) : 0;

    public long RedactLevel => PowerLevels is { } pl ? Number(pl, "redact", 50) : 50;

    public long RequiredLevel(string eventType, bool isState)
    {
        var pl = PowerLevels;
        if (pl is null)
        {
            return 0;
        }

        if (pl["events"] is JsonObject events && TryInteger(events[eventType], out var level))
        {
            return level;
        }

        return isState ? Number(pl, "state_default", 50) : Number(pl, "events_default", 0);
    }

    private static long Number(JsonObject obj, string key, long fallback) =>
        TryInteger(obj[key], out var n) ? n : fallback;

    /// <summary>
    /// A power level as an integer, whether the content was parsed from JSON (a JsonElement) or built in memory (an int
    /// or a long): reading only one of them made the creator of a room made here power 0 until a restart re-read it.
    /// </summary>
    private static bool TryInteger(JsonNode? node, out long value)
    {
        value = 0;
        if (node is not JsonValue v)
        {
            return false;
        }

        if (v.TryGetValue(out long l))
        {
            value = l;
            return true;
        }

        if (v.TryGetValue(out int i))
        {
            value = i;
            return true;
        }

        return v.TryGetValue(out System.Text.Json.JsonElement e) && e.ValueKind == System.Text.Json.JsonValueKind.Number && e.TryGetInt64(out value);
    }
}
