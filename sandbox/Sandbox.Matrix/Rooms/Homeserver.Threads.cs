using System.Text.Json.Nodes;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Rooms;

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
}
