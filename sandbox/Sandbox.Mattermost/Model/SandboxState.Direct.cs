using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sandbox.Mattermost.Http;
using Sandbox.Mattermost.WebSockets;

namespace Sandbox.Mattermost.Model;

/// <summary>
/// Who may see whom, direct message channels, channels made over the API and user autocomplete, as the real server
/// (api4/channel.go createChannel, createDirectChannel; api4/user.go autocompleteUsers; app UserCanSeeOtherUser).
/// </summary>
internal sealed partial class SandboxState
{
    private static readonly Regex ChannelNamePattern = new("^[a-z0-9_-]{1,64}$", RegexOptions.CultureInvariant);

    /// <summary>
    /// UserCanSeeOtherUser with the stock roles: every full user has <c>view_members</c>; a guest has not, and sees only
    /// the people it shares a channel with (and itself).
    /// </summary>
    public bool CanSeeUser(UserRecord actor, string userId)
    {
        lock (Gate)
        {
            if (actor.IsAdmin || actor.Id == userId || !actor.IsGuest)
            {
                return true;
            }

            return _channelMembers.Values.Any(m => m.ContainsKey(actor.Id) && m.ContainsKey(userId));
        }
    }

    /// <summary>GET /users/{id} and by username: a person the actor may not see is refused (403, view_members).</summary>
    public UserRecord GetVisibleUser(UserRecord actor, UserRecord user) =>
        CanSeeUser(actor, user.Id) ? user : throw MmApiException.Forbidden();

    /// <summary>POST /channels/direct: the DM channel of two people (or of one with themselves), made once and returned again.</summary>
    public ChannelRecord GetOrCreateDirectChannel(UserRecord actor, JsonArray body)
    {
        var ids = new List<string>();
        foreach (var node in body)
        {
            if (node is not JsonValue v || !v.TryGetValue<string>(out var id))
            {
                throw new MmApiException(400, "api.payload.parse.error", "Could not parse the request payload.");
            }

            if (!ids.Contains(id))
            {
                ids.Add(id);
            }
        }

        if (ids.Count == 1 && ids[0] == actor.Id)
        {
            ids.Add(ids[0]);
        }

        if (ids.Count != 2)
        {
            throw MmApiException.InvalidParam("user_ids");
        }

        if (ids.Any(id => !MmIds.IsValid(id)))
        {
            throw MmApiException.InvalidParam("user_id");
        }

        if (!ids.Contains(actor.Id) && !actor.IsAdmin)
        {
            throw MmApiException.Forbidden();
        }

        var other = ids[0] == actor.Id ? ids[1] : ids[0];
        if (!CanSeeUser(actor, other))
        {
            throw MmApiException.Forbidden();
        }

        lock (Gate)
        {
            foreach (var id in ids)
            {
                if (!_users.TryGetValue(id, out var u) || u.DeleteAt != 0)
                {
                    throw new MmApiException(400, "api.channel.create_direct_channel.invalid_user.app_error", "Invalid user ID for direct channel creation.");
                }
            }

            var name = string.CompareOrdinal(ids[0], ids[1]) < 0 ? $"{ids[0]}__{ids[1]}" : $"{ids[1]}__{ids[0]}";
            if (_channels.Values.FirstOrDefault(c => c.Type == "D" && c.Name == name) is { } existing)
            {
                return existing;
            }

            var channel = CreateChannel("", name, "", "D", actor.Id);
            foreach (var id in ids.Distinct())
            {
                _channelMembers[channel.Id][id] = new ChannelMemberRecord { ChannelId = channel.Id, UserId = id, LastViewedAt = Now() };
            }

            Publish?.Invoke(new WsEvent("direct_added", new JsonObject { ["creator_id"] = actor.Id, ["teammate_id"] = other }, new WsBroadcast(ChannelId: channel.Id)));
            return channel;
        }
    }

    /// <summary>POST /channels: a public (O) or private (P) channel in a team; the creator becomes its member.</summary>
    public ChannelRecord CreateChannelFor(UserRecord actor, JsonObject body)
    {
        var (teamId, displayName, name, type) = (Str(body, "team_id"), Str(body, "display_name"), Str(body, "name"), Str(body, "type"));
        if (teamId.Length == 0)
        {
            throw MmApiException.InvalidParam("team_id");
        }

        if (displayName.Length == 0)
        {
            throw MmApiException.InvalidParam("display_name");
        }

        if (type is not ("O" or "P"))
        {
            throw new MmApiException(400, "model.channel.is_valid.type.app_error", "Invalid type.");
        }

        lock (Gate)
        {
            // create_public_channel / create_private_channel belong to team_user: a team member who is not a guest.
            if (!actor.IsAdmin && (actor.IsGuest || !_teamMembers.Contains((teamId, actor.Id))))
            {
                throw MmApiException.Forbidden();
            }

            if (!_teams.ContainsKey(teamId))
            {
                throw new MmApiException(404, "app.team.get.find.app_error", "Unable to find the existing team.");
            }

            if (!ChannelNamePattern.IsMatch(name) || name.Contains("__", StringComparison.Ordinal) || displayName.Length > 64)
            {
                throw new MmApiException(400, "model.channel.is_valid.name.app_error", "Invalid channel name. User ids are not permitted in channel name for non-direct message channels.");
            }

            var channel = CreateChannel(teamId, name, displayName, type, actor.Id);
            _channelMembers[channel.Id][actor.Id] = new ChannelMemberRecord { ChannelId = channel.Id, UserId = actor.Id, Roles = "channel_user channel_admin", LastViewedAt = Now() };
            Publish?.Invoke(new WsEvent("channel_created", new JsonObject { ["channel_id"] = channel.Id, ["team_id"] = teamId }, new WsBroadcast(TeamId: teamId)));
            return channel;
        }
    }

    /// <summary>
    /// GET /users/autocomplete: people whose username, names or nickname start with <paramref name="term"/>. With a channel:
    /// <c>users</c> in it and <c>out_of_channel</c> from its team; with a team only: <c>users</c> of the team; a guest
    /// only ever gets people it shares a channel with.
    /// </summary>
    public JsonObject Autocomplete(UserRecord actor, string? teamId, string? channelId, string term, int limit)
    {
        lock (Gate)
        {
            bool Matches(UserRecord u) =>
                u.DeleteAt == 0 && CanSeeUser(actor, u.Id)
                && (term.Length == 0 || new[] { u.Username, u.FirstName, u.LastName, u.Nickname, $"{u.FirstName} {u.LastName}" }
                    .Any(f => f.StartsWith(term, StringComparison.OrdinalIgnoreCase)));
            JsonArray List(IEnumerable<UserRecord> users) =>
                [.. users.Where(Matches).OrderBy(u => u.Username, StringComparer.Ordinal).Take(limit).Select(u => (JsonNode)u.ToJson())];

            if (!string.IsNullOrEmpty(channelId))
            {
                var channel = GetChannel(actor, channelId); // read_channel, else 403
                var members = _channelMembers[channel.Id];
                var result = new JsonObject { ["users"] = List(_users.Values.Where(u => members.ContainsKey(u.Id))) };
                var team = string.IsNullOrEmpty(teamId) ? channel.TeamId : teamId;
                result["out_of_channel"] = List(_users.Values.Where(u => !members.ContainsKey(u.Id) && team.Length > 0 && _teamMembers.Contains((team, u.Id))));
                return result;
            }

            if (!string.IsNullOrEmpty(teamId))
            {
                var team = GetTeam(actor, teamId); // view_team, else 403
                return new JsonObject { ["users"] = List(_users.Values.Where(u => _teamMembers.Contains((team.Id, u.Id)))) };
            }

            return new JsonObject { ["users"] = List(_users.Values) };
        }
    }
}
