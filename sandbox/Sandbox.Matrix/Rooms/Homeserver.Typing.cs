using System.Text.Json.Nodes;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Rooms;
using Sandbox.Matrix.Users;

namespace Sandbox.Matrix.Hosting;

/// <summary>
/// Typing notifications (client-server API, "Typing Notifications"): <c>PUT /rooms/{roomId}/typing/{userId}</c> sets or
/// clears one user's typing in a room for <c>timeout</c> ms; the room's m.typing EDU (everyone typing now) reaches
/// members in <c>/sync</c> and interested appservices that asked for ephemeral events. Never stored in a timeline.
/// </summary>
internal sealed partial class Homeserver
{
    /// <summary>What Synapse assumes when <c>typing: true</c> comes without a timeout.</summary>
    public const long DefaultTypingTimeoutMs = 30_000;

    /// <summary>Synapse caps a typing timeout at two minutes.</summary>
    public const long MaxTypingTimeoutMs = 120_000;

    /// <summary>Parses and applies a typing request body; the spec's <c>typing</c> is required, <c>timeout</c> an integer of ms.</summary>
    public void SetTyping(Principal principal, string roomId, string userId, JsonObject body)
    {
        if (!body.TryGetPropertyValue("typing", out var typingNode) || typingNode is null)
        {
            throw MatrixException.MissingParam("Missing params: ['typing']");
        }

        if (typingNode is not JsonValue typingValue || !typingValue.TryGetValue(out bool typing))
        {
            throw MatrixException.BadJson("'typing' must be a boolean");
        }

        long? timeout = null;
        if (body.TryGetPropertyValue("timeout", out var timeoutNode) && timeoutNode is not null)
        {
            if (timeoutNode is not JsonValue timeoutValue || !TryWholeNumber(timeoutValue, out var ms) || ms < 0)
            {
                throw MatrixException.BadJson("'timeout' must be a non-negative integer (milliseconds)");
            }

            timeout = ms;
        }

        SetTyping(principal, roomId, userId, typing, timeout);
    }

    /// <summary>
    /// Sets or clears typing. Only for oneself (an appservice as one of its users through <c>?user_id=</c>, which
    /// authentication already confined to its namespace), and only in a room one has joined.
    /// </summary>
    public void SetTyping(Principal principal, string roomId, string userId, bool typing, long? timeoutMs)
    {
        if (!string.Equals(principal.UserId, userId, StringComparison.Ordinal))
        {
            throw MatrixException.Forbidden("Cannot set another user's typing state");
        }

        lock (_gate)
        {
            if (!_rooms.TryGetValue(roomId, out var room) || room.Membership(userId) != "join")
            {
                throw MatrixException.Forbidden($"User {userId} not in room {roomId}");
            }

            bool changed;
            if (typing)
            {
                var until = NowMs() + Math.Min(timeoutMs ?? DefaultTypingTimeoutMs, MaxTypingTimeoutMs);
                changed = !room.Typing.ContainsKey(userId);
                room.Typing[userId] = until;
                _ = ExpireTypingAsync(room, userId, until);
            }
            else
            {
                changed = room.Typing.Remove(userId);
            }

            if (changed)
            {
                TypingChangedLocked(room);
            }
        }
    }

    /// <summary>Who is typing in a room now (test control).</summary>
    public IReadOnlyList<string> TypingIn(string roomId)
    {
        lock (_gate)
        {
            return _rooms.TryGetValue(roomId, out var room) ? [.. room.Typing.Keys.Order(StringComparer.Ordinal)] : [];
        }
    }

    /// <summary>The room's m.typing EDU: everyone typing now; with <c>room_id</c> for appservice transactions.</summary>
    private static JsonObject TypingEdu(Room room, bool includeRoomId)
    {
        var edu = new JsonObject
        {
            ["type"] = "m.typing",
            ["content"] = new JsonObject { ["user_ids"] = new JsonArray([.. room.Typing.Keys.Order(StringComparer.Ordinal).Select(u => (JsonNode)u)]) },
        };
        if (includeRoomId)
        {
            edu["room_id"] = room.RoomId;
        }

        return edu;
    }

    /// <summary>A change of who types: a new stream position for /sync, and the EDU to interested appservices. Caller holds the lock.</summary>
    private void TypingChangedLocked(Room room)
    {
        room.TypingPosition = ++_position;
        foreach (var pusher in _appservices.Values)
        {
            if (IsInterestedInRoom(pusher.Registration, room))
            {
                pusher.EnqueueEphemeral(TypingEdu(room, includeRoomId: true));
            }
        }

        Notifier.Notify();
    }

    /// <summary>Ends a typing that was not refreshed (a refresh moves <c>until</c>, so this one no longer matches).</summary>
    private async Task ExpireTypingAsync(Room room, string userId, long until)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(0, until - NowMs())));
        lock (_gate)
        {
            if (room.Typing.TryGetValue(userId, out var current) && current == until)
            {
                room.Typing.Remove(userId);
                TypingChangedLocked(room);
            }
        }
    }

    private static bool TryWholeNumber(JsonValue value, out long number)
    {
        if (value.TryGetValue(out number))
        {
            return true;
        }

        if (value.TryGetValue(out int i))
        {
            number = i;
            return true;
        }

        return value.TryGetValue(out System.Text.Json.JsonElement e) && e.ValueKind == System.Text.Json.JsonValueKind.Number && e.TryGetInt64(out number);
    }
}
