using System.Globalization;
using System.Text.Json.Nodes;
using Sandbox.Matrix.Rooms;
using Sandbox.Matrix.Users;

namespace Sandbox.Matrix.Hosting;

/// <summary><c>/sync</c> for test clients: joined timelines, invites and leaves since a stream position.</summary>
internal sealed partial class Homeserver
{
    private const int InitialTimelineLimit = 50;

    public static long ParseSince(string? since) =>
        since is { Length: > 1 } && since[0] == 's' && long.TryParse(since.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var pos) ? pos : 0;

    /// <summary>Builds a sync response; <c>HasUpdates</c> is false when an incremental sync found nothing new.</summary>
    public (JsonObject Response, bool HasUpdates) BuildSync(Principal principal, long since)
    {
        lock (_gate)
        {
            var now = NowMs();
            var initial = since == 0;
            var join = new JsonObject();
            var invite = new JsonObject();
            var leave = new JsonObject();
            foreach (var room in _rooms.Values)
            {
                if (!room.State.TryGetValue(("m.room.member", principal.UserId), out var member))
                {
                    continue;
                }

                var membership = member.Content["membership"]?.GetValue<string>();
                switch (membership)
                {
                    case "join":
                        AddJoined(join, room, principal, since, member, now);
                        break;
                    case "invite" when member.Position > since:
                        invite[room.RoomId] = new JsonObject { ["invite_state"] = new JsonObject { ["events"] = StrippedState(room) } };
                        break;
                    case "leave" or "ban" when !initial && member.Position > since:
                        var events = room.Timeline.Where(e => e.Position > since && e.Position <= member.Position)
                            .Select(e => (JsonNode)e.ToClient(principal.TokenKey, false, now));
                        leave[room.RoomId] = new JsonObject
                        {
                            ["timeline"] = new JsonObject { ["events"] = new JsonArray([.. events]), ["limited"] = false },
                            ["state"] = new JsonObject { ["events"] = new JsonArray() },
                        };
                        break;
                    default:
                        break;
                }
            }

            var accountData = AccountDataSinceLocked(principal.UserId, since);
            var response = new JsonObject
            {
                ["next_batch"] = "s" + _position.ToString(CultureInfo.InvariantCulture),
                ["rooms"] = new JsonObject { ["join"] = join, ["invite"] = invite, ["leave"] = leave },
                ["account_data"] = new JsonObject { ["events"] = accountData },
                ["presence"] = new JsonObject { ["events"] = new JsonArray() },
            };
            return (response, initial || join.Count > 0 || invite.Count > 0 || leave.Count > 0 || accountData.Count > 0);
        }
    }

    private void AddJoined(JsonObject join, Room room, Principal principal, long since, StoredEvent member, long now)
    {
        var fresh = room.Timeline.Where(e => e.Position > since).ToList();
        // m.typing when who types changed since the token (or, on a first sync, when anyone types).
        var typingNews = since == 0 ? room.Typing.Count > 0 : room.TypingPosition > since;
        if (since != 0 && fresh.Count == 0 && !typingNews)
        {
            return;
        }

        var limited = false;
        if (fresh.Count > InitialTimelineLimit && since == 0)
        {
            fresh = fresh[^InitialTimelineLimit..];
            limited = true;
        }

        // Full state when the client has not seen this room yet (initial sync, or joined within the window).
        var state = new JsonArray();
        if (since == 0 || member.Position > since)
        {
            var inTimeline = fresh.Select(e => e.EventId).ToHashSet(StringComparer.Ordinal);
            foreach (var ev in room.State.Values.OrderBy(e => e.Position))
            {
                if (!inTimeline.Contains(ev.EventId))
                {
                    state.Add(ev.ToClient(principal.TokenKey, false, now));
                }
            }
        }

        join[room.RoomId] = new JsonObject
        {
            ["timeline"] = new JsonObject
            {
                ["events"] = new JsonArray([.. fresh.Select(e => (JsonNode)WithThreadSummaryLocked(e, e.ToClient(principal.TokenKey, false, now), principal, includeRoomId: false, now))]),
                ["limited"] = limited,
                ["prev_batch"] = "t" + (fresh.Count > 0 ? fresh[0].Position : since).ToString(CultureInfo.InvariantCulture),
            },
            ["state"] = new JsonObject { ["events"] = state },
            ["ephemeral"] = new JsonObject { ["events"] = typingNews ? new JsonArray(TypingEdu(room, includeRoomId: false)) : new JsonArray() },
            ["account_data"] = new JsonObject { ["events"] = new JsonArray() },
        };
    }

    private static JsonArray StrippedState(Room room)
    {
        var stripped = new JsonArray();
        foreach (var ((type, stateKey), ev) in room.State)
        {
            if (type is "m.room.create" or "m.room.join_rules" or "m.room.name" or "m.room.canonical_alias" or "m.room.avatar"
                || (type == "m.room.member" && room.Membership(stateKey) == "invite"))
            {
                stripped.Add(new JsonObject
                {
                    ["type"] = type,
                    ["state_key"] = stateKey,
                    ["sender"] = ev.Sender,
                    ["content"] = ev.Content.DeepClone(),
                });
            }
        }

        return stripped;
    }
}
