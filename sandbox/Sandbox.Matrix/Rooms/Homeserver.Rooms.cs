using System.Text;
using System.Text.Json.Nodes;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Http;
using Sandbox.Matrix.Rooms;
using Sandbox.Matrix.Users;

namespace Sandbox.Matrix.Hosting;

/// <summary>Rooms: creation, membership with join rules and power levels, messages, state, redactions.</summary>
internal sealed partial class Homeserver
{
    private const int MaxEventBytes = 65536;

    public JsonObject CreateRoom(Principal principal, JsonObject body)
    {
        var visibility = JsonBody.OptString(body, "visibility");
        var preset = JsonBody.OptString(body, "preset") ?? (visibility == "public" ? "public_chat" : "private_chat");
        if (preset is not ("private_chat" or "public_chat" or "trusted_private_chat"))
        {
            throw new MatrixException(400, ErrorCodes.InvalidParam, "Unknown preset " + preset);
        }

        var aliasName = JsonBody.OptString(body, "room_alias_name");
        var invites = ReadStringArray(body, "invite");
        var isDirect = JsonBody.OptBool(body, "is_direct");
        lock (_gate)
        {
            string? alias = null;
            if (aliasName is not null)
            {
                alias = "#" + aliasName + ":" + ServerName;
                CheckAliasClaimLocked(principal, alias);
                if (_aliases.ContainsKey(alias))
                {
                    throw new MatrixException(400, ErrorCodes.RoomInUse, "Room alias already taken");
                }
            }

            foreach (var invitee in invites)
            {
                if (!_users.ContainsKey(invitee))
                {
                    throw MatrixException.NotFound("Unknown user " + invitee);
                }
            }

            var creator = principal.UserId;
            var room = new Room(Ids.RoomId(ServerName), creator);
            _rooms[room.RoomId] = room;
            AppendLocked(room, "m.room.create", creator, new JsonObject { ["creator"] = creator, ["room_version"] = "10" }, string.Empty, by: principal);
            _users.TryGetValue(creator, out var account);
            AppendLocked(room, "m.room.member", creator, MemberContent("join", account), creator, by: principal);

            var users = new JsonObject { [creator] = 100 };
            if (preset == "trusted_private_chat")
            {
                foreach (var invitee in invites)
                {
                    users[invitee] = 100;
                }
            }

            var powerLevels = new JsonObject
            {
                ["users"] = users,
                ["users_default"] = 0,
                ["events"] = new JsonObject
                {
                    ["m.room.name"] = 50,
                    ["m.room.power_levels"] = 100,
                    ["m.room.history_visibility"] = 100,
                    ["m.room.canonical_alias"] = 50,
                    ["m.room.avatar"] = 50,
                    ["m.room.tombstone"] = 100,
                    ["m.room.server_acl"] = 100,
                    ["m.room.encryption"] = 100,
                },
                ["events_default"] = 0,
                ["state_default"] = 50,
                ["ban"] = 50,
                ["kick"] = 50,
                ["redact"] = 50,
                ["invite"] = 0,
            };
            if (body["power_level_content_override"] is JsonObject overrides)
            {
                foreach (var (key, value) in overrides)
                {
                    powerLevels[key] = value?.DeepClone();
                }
            }

            AppendLocked(room, "m.room.power_levels", creator, powerLevels, string.Empty, by: principal);
            if (alias is not null)
            {
                _aliases[alias] = room.RoomId;
                _aliasCreators[alias] = creator;
                room.Aliases.Add(alias);
                AppendLocked(room, "m.room.canonical_alias", creator, new JsonObject { ["alias"] = alias }, string.Empty, by: principal);
            }

            AppendLocked(room, "m.room.join_rules", creator,
                new JsonObject { ["join_rule"] = preset == "public_chat" ? "public" : "invite" }, string.Empty, by: principal);
            AppendLocked(room, "m.room.history_visibility", creator, new JsonObject { ["history_visibility"] = "shared" }, string.Empty, by: principal);
            if (body["initial_state"] is JsonArray initialState)
            {
                foreach (var item in initialState.OfType<JsonObject>())
                {
                    var type = JsonBody.OptString(item, "type") ?? throw MatrixException.BadJson("initial_state entries need a type");
                    var content = item["content"] as JsonObject ?? new JsonObject();
                    AppendLocked(room, type, creator, (JsonObject)content.DeepClone(), JsonBody.OptString(item, "state_key") ?? string.Empty, by: principal);
                }
            }

            if (JsonBody.OptString(body, "name") is { } name)
            {
                AppendLocked(room, "m.room.name", creator, new JsonObject { ["name"] = name }, string.Empty, by: principal);
            }

            if (JsonBody.OptString(body, "topic") is { } topic)
            {
                AppendLocked(room, "m.room.topic", creator, new JsonObject { ["topic"] = topic }, string.Empty, by: principal);
            }

            foreach (var invitee in invites)
            {
                var content = MemberContent("invite", _users[invitee]);
                if (isDirect)
                {
                    content["is_direct"] = true;
                }

                AppendLocked(room, "m.room.member", creator, content, invitee, by: principal);
            }

            var response = new JsonObject { ["room_id"] = room.RoomId };
            if (alias is not null)
            {
                response["room_alias"] = alias;
            }

            return response;
        }
    }

    public string Join(Principal principal, string roomId)
    {
        lock (_gate)
        {
            var room = RoomLocked(roomId);
            var membership = room.Membership(principal.UserId);
            if (membership == "join")
            {
                return room.RoomId;
            }

            if (membership == "ban")
            {
                throw MatrixException.Forbidden("You are banned from this room");
            }

            if (room.JoinRule != "public" && membership != "invite")
            {
                throw MatrixException.Forbidden("You are not invited to this room.");
            }

            _users.TryGetValue(principal.UserId, out var account);
            AppendLocked(room, "m.room.member", principal.UserId, MemberContent("join", account), principal.UserId, by: principal);
            return room.RoomId;
        }
    }

    public void Invite(Principal principal, string roomId, string userId, string? reason)
    {
        lock (_gate)
        {
            var room = RoomLocked(roomId);
            if (!_users.TryGetValue(userId, out var invitee))
            {
                throw MatrixException.NotFound("Unknown user " + userId);
            }

            if (room.Membership(principal.UserId) != "join")
            {
                throw MatrixException.Forbidden($"User {principal.UserId} not in room {roomId}");
            }

            if (room.UserLevel(principal.UserId) < room.InviteLevel)
            {
                throw MatrixException.Forbidden("You don't have permission to invite users");
            }

            switch (room.Membership(userId))
            {
                case "join":
                    throw MatrixException.Forbidden($"{userId} is already in the room.");
                case "ban":
                    throw MatrixException.Forbidden($"{userId} is banned from the room");
                case "invite":
                    return;
                default:
                    break;
            }

            var content = MemberContent("invite", invitee);
            if (reason is not null)
            {
                content["reason"] = reason;
            }

            AppendLocked(room, "m.room.member", principal.UserId, content, userId, by: principal);
        }
    }

    public void Leave(Principal principal, string roomId, string? reason)
    {
        lock (_gate)
        {
            var room = RoomLocked(roomId);
            if (room.Membership(principal.UserId) is not ("join" or "invite"))
            {
                throw MatrixException.Forbidden($"User {principal.UserId} not in room {roomId}");
            }

            var content = new JsonObject { ["membership"] = "leave" };
            if (reason is not null)
            {
                content["reason"] = reason;
            }

            AppendLocked(room, "m.room.member", principal.UserId, content, principal.UserId, by: principal);
        }
    }

    public string Send(Principal principal, string roomId, string type, string txnId, JsonObject content, long? ts)
    {
        lock (_gate)
        {
            if (_txns.TryGetValue((principal.TokenKey, principal.UserId, txnId), out var existing))
            {
                return existing;
            }

            var room = RoomLocked(roomId);
            RequireJoinedLocked(room, principal.UserId);
            if (room.UserLevel(principal.UserId) < room.RequiredLevel(type, isState: false))
            {
                throw MatrixException.Forbidden($"You don't have permission to post {type} events");
            }

            CheckSize(room.RoomId, type, principal.UserId, null, content);
            RejectDuplicateAnnotation(room, type, principal.UserId, content);
            RejectInvalidThreadLocked(room, content);
            var ev = AppendLocked(room, type, principal.UserId, content, null, AllowedTs(principal, ts), principal, txnId);
            RememberThreadReplyLocked(ev);
            _txns[(principal.TokenKey, principal.UserId, txnId)] = ev.EventId;
            return ev.EventId;
        }
    }

    /// <summary>
    /// Synapse refuses a second annotation with the same sender, type, target and key (400 M_DUPLICATE_ANNOTATION,
    /// "Can't send same reaction twice"); a redacted one no longer counts (its relation was pruned).
    /// </summary>
    private static void RejectDuplicateAnnotation(Room room, string type, string sender, JsonObject content)
    {
        if (content["m.relates_to"] is not JsonObject relates || Text(relates["rel_type"]) != "m.annotation"
            || Text(relates["event_id"]) is not { } target || Text(relates["key"]) is not { } key)
        {
            return;
        }

        foreach (var existing in room.Timeline)
        {
            if (existing.Type == type && existing.Sender == sender && existing.Content["m.relates_to"] is JsonObject other
                && Text(other["rel_type"]) == "m.annotation" && Text(other["event_id"]) == target && Text(other["key"]) == key)
            {
                throw new MatrixException(400, ErrorCodes.DuplicateAnnotation, "Can't send same reaction twice");
            }
        }

        static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    }

    public string SetState(Principal principal, string roomId, string type, string stateKey, JsonObject content, long? ts)
    {
        lock (_gate)
        {
            var room = RoomLocked(roomId);
            RequireJoinedLocked(room, principal.UserId);
            if (type == "m.room.member")
            {
                // Only the per-room profile form of a member event is accepted here; membership changes use their own endpoints.
                if (stateKey != principal.UserId || content["membership"]?.GetValue<string>() != "join")
                {
                    throw MatrixException.Forbidden("Use the membership endpoints to change membership");
                }
            }
            else if (room.UserLevel(principal.UserId) < room.RequiredLevel(type, isState: true))
            {
                throw MatrixException.Forbidden($"You don't have permission to post {type} events");
            }

            CheckSize(room.RoomId, type, principal.UserId, stateKey, content);
            if (room.State.TryGetValue((type, stateKey), out var current) && JsonNode.DeepEquals(current.Content, content)
                && current.Sender == principal.UserId)
            {
                // Real homeservers de-duplicate identical state updates.
                return current.EventId;
            }

            return AppendLocked(room, type, principal.UserId, content, stateKey, AllowedTs(principal, ts), principal).EventId;
        }
    }

    public JsonArray GetState(Principal principal, string roomId)
    {
        lock (_gate)
        {
            var room = RoomLocked(roomId);
            RequireJoinedLocked(room, principal.UserId);
            var now = NowMs();
            return new JsonArray([.. room.State.Values.OrderBy(e => e.Position).Select(e => (JsonNode)e.ToClient(principal.TokenKey, true, now))]);
        }
    }

    public JsonObject GetStateEvent(Principal principal, string roomId, string type, string stateKey)
    {
        lock (_gate)
        {
            var room = RoomLocked(roomId);
            RequireJoinedLocked(room, principal.UserId);
            if (!room.State.TryGetValue((type, stateKey), out var ev))
            {
                throw MatrixException.NotFound("Event not found.");
            }

            return (JsonObject)ev.Content.DeepClone();
        }
    }

    public JsonObject GetEvent(Principal principal, string roomId, string eventId)
    {
        lock (_gate)
        {
            var room = RoomLocked(roomId);
            RequireJoinedLocked(room, principal.UserId);
            if (!_events.TryGetValue(eventId, out var ev) || ev.RoomId != room.RoomId)
            {
                throw MatrixException.NotFound("Event not found.");
            }

            var now = NowMs();
            return WithThreadSummaryLocked(ev, ev.ToClient(principal.TokenKey, true, now), principal, includeRoomId: true, now);
        }
    }

    public JsonObject JoinedMembers(Principal principal, string roomId)
    {
        lock (_gate)
        {
            var room = RoomLocked(roomId);
            RequireJoinedLocked(room, principal.UserId);
            var joined = new JsonObject();
            foreach (var userId in room.MembersWith("join"))
            {
                var content = room.State[("m.room.member", userId)].Content;
                var member = new JsonObject();
                if (content["displayname"] is { } name)
                {
                    member["display_name"] = name.DeepClone();
                }

                if (content["avatar_url"] is { } avatar)
                {
                    member["avatar_url"] = avatar.DeepClone();
                }

                joined[userId] = member;
            }

            return new JsonObject { ["joined"] = joined };
        }
    }

    public JsonArray JoinedRooms(Principal principal)
    {
        lock (_gate)
        {
            return new JsonArray([.. _rooms.Values.Where(r => r.Membership(principal.UserId) == "join").Select(r => (JsonNode)r.RoomId)]);
        }
    }

    public JsonObject Messages(Principal principal, string roomId, string? from, string dir, int limit)
    {
        lock (_gate)
        {
            var room = RoomLocked(roomId);
            RequireJoinedLocked(room, principal.UserId);
            long position = from is { Length: > 1 } && long.TryParse(from.AsSpan(1), out var p) ? p : (dir == "b" ? long.MaxValue : 0);
            var now = NowMs();
            var chunk = dir == "b"
                ? room.Timeline.Where(e => e.Position < position).Reverse().Take(limit).ToList()
                : room.Timeline.Where(e => e.Position > position).Take(limit).ToList();
            var response = new JsonObject
            {
                ["chunk"] = new JsonArray([.. chunk.Select(e => (JsonNode)WithThreadSummaryLocked(e, e.ToClient(principal.TokenKey, true, now), principal, includeRoomId: true, now))]),
                ["start"] = "t" + (position == long.MaxValue ? _position + 1 : position),
            };
            if (chunk.Count == limit)
            {
                response["end"] = "t" + chunk[^1].Position;
            }

            return response;
        }
    }

    public string Redact(Principal principal, string roomId, string eventId, string txnId, string? reason)
    {
        lock (_gate)
        {
            var txnKey = (principal.TokenKey, principal.UserId, "redact/" + txnId);
            if (_txns.TryGetValue(txnKey, out var existing))
            {
                return existing;
            }

            var room = RoomLocked(roomId);
            RequireJoinedLocked(room, principal.UserId);
            if (!_events.TryGetValue(eventId, out var target) || target.RoomId != room.RoomId)
            {
                throw MatrixException.NotFound("Event not found.");
            }

            if (target.Sender != principal.UserId && room.UserLevel(principal.UserId) < room.RedactLevel)
            {
                throw MatrixException.Forbidden("You don't have permission to redact events");
            }

            var content = new JsonObject { ["redacts"] = eventId };
            if (reason is not null)
            {
                content["reason"] = reason;
            }

            var redaction = AppendLocked(room, "m.room.redaction", principal.UserId, content, null, null, principal, txnId, redacts: eventId);
            Redaction.Apply(target, redaction);
            _txns[txnKey] = redaction.EventId;
            return redaction.EventId;
        }
    }

    /// <summary>Test control: the whole timeline of a room as stored.</summary>
    public IReadOnlyList<JsonObject> Timeline(string roomId)
    {
        lock (_gate)
        {
            var room = RoomLocked(roomId);
            var now = NowMs();
            return [.. room.Timeline.Select(e => e.ToClient(null, true, now))];
        }
    }

    /// <summary>The rooms in which <paramref name="userId"/> has <paramref name="membership"/> (for tests).</summary>
    public IReadOnlyList<string> RoomsOf(string userId, string membership)
    {
        lock (_gate)
        {
            return [.. _rooms.Values.Where(r => r.MembersWith(membership).Contains(userId)).Select(r => r.RoomId)];
        }
    }

    public IReadOnlyList<string> Members(string roomId, string membership)
    {
        lock (_gate)
        {
            return [.. RoomLocked(roomId).MembersWith(membership)];
        }
    }

    private Room RoomLocked(string roomId)
    {
        if (!_rooms.TryGetValue(roomId, out var room))
        {
            throw MatrixException.NotFound("Unknown room " + roomId);
        }

        return room;
    }

    private static void RequireJoinedLocked(Room room, string userId)
    {
        if (room.Membership(userId) != "join")
        {
            throw MatrixException.Forbidden($"User {userId} not in room {room.RoomId}");
        }
    }

    private static long? AllowedTs(Principal principal, long? ts)
    {
        if (ts is null)
        {
            return null;
        }

        if (principal.Appservice is null)
        {
            // Only appservices may massage timestamps; ordinary clients get "now".
            return null;
        }

        if (ts <= 0)
        {
            throw new MatrixException(400, ErrorCodes.InvalidParam, "ts must be a positive timestamp in milliseconds");
        }

        return ts;
    }

    /// <summary>
    /// The spec's size limit: a whole event, as the homeserver signs and sends it over federation, is at most 65,536
    /// bytes of canonical JSON; Synapse answers 413 <c>M_TOO_LARGE</c>. The envelope measured here has the fields
    /// and typical lengths of a room version 10 PDU (ids, hashes, signatures, auth and prev events), so a client
    /// that sends content right up to 65,536 bytes is refused here as it would be there.
    /// </summary>
    private void CheckSize(string roomId, string type, string sender, string? stateKey, JsonObject content)
    {
        var hash43 = new string('A', 43);
        var pdu = new JsonObject
        {
            ["auth_events"] = new JsonArray("$" + hash43, "$" + hash43, "$" + hash43),
            ["content"] = content.DeepClone(),
            ["depth"] = long.MaxValue,
            ["hashes"] = new JsonObject { ["sha256"] = hash43 },
            ["origin_server_ts"] = long.MaxValue,
            ["prev_events"] = new JsonArray("$" + hash43),
            ["room_id"] = roomId,
            ["sender"] = sender,
            ["signatures"] = new JsonObject { [ServerName] = new JsonObject { ["ed25519:a_key"] = new string('A', 86) } },
            ["type"] = type,
            ["unsigned"] = new JsonObject { ["age_ts"] = long.MaxValue },
        };
        if (stateKey is not null)
        {
            pdu["state_key"] = stateKey;
        }

        if (Encoding.UTF8.GetByteCount(CanonicalJson(pdu)) > MaxEventBytes)
        {
            throw new MatrixException(413, ErrorCodes.TooLarge, "event too large");
        }
    }

    /// <summary>Canonical JSON as the spec defines it for size and signing: sorted keys, no insignificant whitespace, UTF-8 unescaped.</summary>
    private static string CanonicalJson(JsonNode? node)
    {
        var sb = new StringBuilder();
        Write(node);
        return sb.ToString();

        void Write(JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o:
                    sb.Append('{');
                    var first = true;
                    foreach (var (key, value) in o.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    {
                        sb.Append(first ? "" : ",");
                        first = false;
                        WriteString(key);
                        sb.Append(':');
                        Write(value);
                    }

                    sb.Append('}');
                    break;
                case JsonArray a:
                    sb.Append('[');
                    for (var i = 0; i < a.Count; i++)
                    {
                        sb.Append(i == 0 ? "" : ",");
                        Write(a[i]);
                    }

                    sb.Append(']');
                    break;
                case JsonValue v when v.TryGetValue(out string? text):
                    WriteString(text);
                    break;
                case null:
                    sb.Append("null");
                    break;
                default:
                    sb.Append(n.ToJsonString());
                    break;
            }
        }

        void WriteString(string text)
        {
            // Only '"', '\\' and control characters are escaped; everything else is written as UTF-8.
            sb.Append('"');
            foreach (var c in text)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    case < ' ': sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)); break;
                    default: sb.Append(c); break;
                }
            }

            sb.Append('"');
        }
    }

    private static List<string> ReadStringArray(JsonObject body, string name)
    {
        if (body[name] is null)
        {
            return [];
        }

        if (body[name] is not JsonArray array)
        {
            throw MatrixException.BadJson($"'{name}' must be an array of strings");
        }

        var list = new List<string>();
        foreach (var item in array)
        {
            if (item is JsonValue v && v.TryGetValue(out string? s))
            {
                list.Add(s);
            }
            else
            {
                throw MatrixException.BadJson($"'{name}' must be an array of strings");
            }
        }

        return list;
    }

    internal static List<string> InvitesOf(JsonObject body) => ReadStringArray(body, "invite");
}
