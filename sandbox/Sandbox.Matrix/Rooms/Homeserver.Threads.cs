using System.Text.Json.Nodes;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Rooms;
using Sandbox.Matrix.Users;

namespace Sandbox.Matrix.Hosting;

/// <summary>Threads (<c>m.thread</c> relations), checked the way Synapse checks them when an event is sent.</summary>
internal sealed partial class Homeserver
{
    /// <summary>
    /// Synapse (<c>_validate_event_relation</c>) answers 400 M_UNKNOWN when a thread's root is in another room ("Relations
    /// must be in same room"), unknown ("Can't send relation to unknown event") or itself a relation such as a thread
    /// message, an edit or a reaction ("Cannot start threads from an event with a relation").
    /// </summary>
    private void RejectInvalidThreadLocked(Room room, JsonObject content)
    {
        if (content["m.relates_to"] is not JsonObject relates || Text(relates["rel_type"]) != "m.thread")
        {
            return;
        }

        if (Text(relates["event_id"]) is not { } rootId || !_events.TryGetValue(rootId, out var root))
        {
            throw new MatrixException(400, ErrorCodes.Unknown, "Can't send relation to unknown event");
        }

        if (root.RoomId != room.RoomId)
        {
            throw new MatrixException(400, ErrorCodes.Unknown, "Relations must be in same room");
        }

        if (root.Content["m.relates_to"] is JsonObject rootRelates && Text(rootRelates["rel_type"]) is not null)
        {
            throw new MatrixException(400, ErrorCodes.Unknown, "Cannot start threads from an event with a relation");
        }

        static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    }

    /// <summary>The thread messages of each root, in the order they were sent (kept as they are sent).</summary>
    private readonly Dictionary<string, List<StoredEvent>> _threadReplies = new(StringComparer.Ordinal);

    private void RememberThreadReplyLocked(StoredEvent ev)
    {
        if (ev.Content["m.relates_to"] is JsonObject relates && relates["rel_type"]?.GetValue<string>() == "m.thread"
            && relates["event_id"]?.GetValue<string>() is { } root)
        {
            if (!_threadReplies.TryGetValue(root, out var replies))
            {
                _threadReplies[root] = replies = [];
            }

            replies.Add(ev);
        }
    }

    /// <summary>
    /// A thread root as Synapse serves it: its thread's summary bundled in <c>unsigned.m.relations.m.thread</c>
    /// (<c>latest_event</c>, <c>count</c>, <c>current_user_participated</c>). Redacted thread messages lost their relation
    /// and no longer count.
    /// </summary>
    private JsonObject WithThreadSummaryLocked(StoredEvent root, JsonObject json, Principal principal, bool includeRoomId, long now)
    {
        if (!_threadReplies.TryGetValue(root.EventId, out var all))
        {
            return json;
        }

        var replies = all.Where(e => e.Content["m.relates_to"] is JsonObject).ToList();
        if (replies.Count == 0)
        {
            return json;
        }

        var unsigned = json["unsigned"] as JsonObject ?? new JsonObject();
        var relations = unsigned["m.relations"] as JsonObject ?? new JsonObject();
        relations["m.thread"] = new JsonObject
        {
            ["latest_event"] = replies[^1].ToClient(principal.TokenKey, includeRoomId, now),
            ["count"] = replies.Count,
            ["current_user_participated"] = root.Sender == principal.UserId || replies.Any(e => e.Sender == principal.UserId),
        };
        unsigned["m.relations"] = relations;
        json["unsigned"] = unsigned;
        return json;
    }
}
