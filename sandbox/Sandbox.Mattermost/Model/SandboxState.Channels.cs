using System.Text.Json.Nodes;
using Sandbox.Mattermost.Http;
using Sandbox.Mattermost.WebSockets;

namespace Sandbox.Mattermost.Model;

internal sealed partial class SandboxState
{
    /// <summary>The channel every team member is in and nobody (but a guest) can leave.</summary>
    private const string DefaultChannelName = "town-square";

    public TeamRecord CreateTeam(string name, string displayName)
    {
        lock (Gate)
        {
            var team = new TeamRecord { Id = MmIds.NewId(), Name = name, DisplayName = displayName, CreateAt = Now() };
            _teams[team.Id] = team;
            // Like the real server, every team starts with these two public channels.
            CreateChannel(team.Id, "town-square", "Town Square", "O", "");
            CreateChannel(team.Id, "off-topic", "Off-Topic", "O", "");
            return team;
        }
    }

    public ChannelRecord CreateChannel(string teamId, string name, string displayName, string type, string creatorId)
    {
        lock (Gate)
        {
            if (_channels.Values.Any(c => c.TeamId == teamId && c.Name == name))
            {
                throw new MmApiException(400, "store.sql_channel.save_channel.exists.app_error", "A channel with that name already exists on the same team.");
            }
            var now = Now();
            var channel = new ChannelRecord
            {
                Id = MmIds.NewId(),
                TeamId = teamId,
                Name = name,
                DisplayName = displayName,
                Type = type,
                CreatorId = creatorId,
                CreateAt = now,
                UpdateAt = now,
            };
            _channels[channel.Id] = channel;
            _channelMembers[channel.Id] = [];
            return channel;
        }
    }

    public TeamRecord GetTeam(UserRecord actor, string teamId)
    {
        lock (Gate)
        {
            var team = _teams.GetValueOrDefault(teamId)
                ?? throw new MmApiException(404, "app.team.get.find.app_error", "Unable to find the existing team.");
            return CanViewTeam(actor, team) ? team : throw MmApiException.Forbidden();
        }
    }

    public TeamRecord GetTeamByName(UserRecord actor, string name)
    {
        lock (Gate)
        {
            var team = _teams.Values.FirstOrDefault(t => t.Name == name)
                ?? throw new MmApiException(404, "app.team.get_by_name.missing.app_error", "Unable to find the existing team.");
            return CanViewTeam(actor, team) ? team : throw MmApiException.Forbidden();
        }
    }

    private bool CanViewTeam(UserRecord actor, TeamRecord team) => actor.IsAdmin || _teamMembers.Contains((team.Id, actor.Id));

    public bool IsTeamMember(string teamId, string userId)
    {
        lock (Gate)
        {
            return _teamMembers.Contains((teamId, userId));
        }
    }

    public JsonObject AddTeamMember(UserRecord actor, string teamId, string userId)
    {
        lock (Gate)
        {
            var team = _teams.GetValueOrDefault(teamId)
                ?? throw new MmApiException(404, "app.team.get.find.app_error", "Unable to find the existing team.");
            var user = GetUser(userId);
            if (!actor.IsAdmin)
            {
                throw MmApiException.Forbidden();
            }
            if (_teamMembers.Add((team.Id, user.Id)))
            {
                Publish?.Invoke(new WsEvent("added_to_team", new JsonObject { ["team_id"] = team.Id, ["user_id"] = user.Id }, new WsBroadcast(UserId: user.Id)));
            }
            return TeamMemberJson(team.Id, user);
        }
    }

    public void RemoveTeamMember(string teamId, string userId)
    {
        lock (Gate)
        {
            _teamMembers.Remove((teamId, userId));
        }
    }

    private static JsonObject TeamMemberJson(string teamId, UserRecord user) => new()
    {
        ["team_id"] = teamId,
        ["user_id"] = user.Id,
        ["roles"] = user.IsGuest ? "" : "team_user",
        ["delete_at"] = 0,
        ["scheme_guest"] = user.IsGuest,
        ["scheme_user"] = !user.IsGuest,
        ["scheme_admin"] = false,
        ["explicit_roles"] = "",
    };

    public ChannelRecord? FindChannel(string channelId)
    {
        lock (Gate)
        {
            return _channels.GetValueOrDefault(channelId);
        }
    }

    public ChannelRecord? FindChannelByName(string teamId, string name)
    {
        lock (Gate)
        {
            return _channels.Values.FirstOrDefault(c => c.TeamId == teamId && c.Name == name);
        }
    }

    public TeamRecord? FindTeamByName(string name)
    {
        lock (Gate)
        {
            return _teams.Values.FirstOrDefault(t => t.Name == name);
        }
    }

    public ChannelRecord GetChannel(UserRecord actor, string channelId)
    {
        lock (Gate)
        {
            var channel = _channels.GetValueOrDefault(channelId)
                ?? throw new MmApiException(404, "app.channel.get.existing.app_error", "Unable to find the existing channel.");
            return CanReadChannel(actor, channel) ? channel : throw MmApiException.Forbidden();
        }
    }

    public ChannelRecord GetChannelByName(UserRecord actor, string teamId, string name)
    {
        lock (Gate)
        {
            var channel = _channels.Values.FirstOrDefault(c => c.TeamId == teamId && c.Name == name && c.DeleteAt == 0);
            if (channel is null || !CanReadChannel(actor, channel))
            {
                throw new MmApiException(404, "app.channel.get_by_name.missing.app_error", "Unable to find the existing channel.");
            }
            return channel;
        }
    }

    public bool IsChannelMember(string channelId, string userId)
    {
        lock (Gate)
        {
            return _channelMembers.TryGetValue(channelId, out var m) && m.ContainsKey(userId);
        }
    }

    private bool CanReadChannel(UserRecord actor, ChannelRecord channel) =>
        actor.IsAdmin
        || IsChannelMember(channel.Id, actor.Id)
        || (channel.Type == "O" && !actor.IsGuest && _teamMembers.Contains((channel.TeamId, actor.Id)));

    /// <summary>
    /// Posting (and uploading) needs <c>create_post</c> in the channel: a channel member, or a system admin. A team member
    /// outside a public channel may read it but not post there: the server's other way in, <c>create_post_public</c> on
    /// the team, belongs only to the <c>team_post_all_public</c> role (a token scope), which nobody has by default.
    /// </summary>
    private bool CanPostIn(UserRecord actor, ChannelRecord channel) =>
        IsChannelMember(channel.Id, actor.Id) || actor.IsAdmin;

    public ChannelMemberRecord AddChannelMember(UserRecord actor, string channelId, string userId, bool bypassPermissions = false)
    {
        lock (Gate)
        {
            var channel = _channels.GetValueOrDefault(channelId)
                ?? throw new MmApiException(404, "app.channel.get.existing.app_error", "Unable to find the existing channel.");
            var user = GetUser(userId);
            var self = actor.Id == user.Id;
            var allowed = bypassPermissions || actor.IsAdmin
                || (channel.Type == "O" && !actor.IsGuest && _teamMembers.Contains((channel.TeamId, actor.Id)) && (self || IsChannelMember(channel.Id, actor.Id)));
            if (!allowed)
            {
                throw MmApiException.Forbidden();
            }
            if (!_teamMembers.Contains((channel.TeamId, user.Id)))
            {
                throw new MmApiException(403, "api.channel.add_members.user_denied", "Channel membership denied to the following users because they are not team members.");
            }
            var members = _channelMembers[channel.Id];
            if (members.TryGetValue(user.Id, out var existing))
            {
                return existing;
            }
            var member = new ChannelMemberRecord { ChannelId = channel.Id, UserId = user.Id, LastViewedAt = Now() };
            members[user.Id] = member;
            Publish?.Invoke(new WsEvent("user_added", new JsonObject { ["team_id"] = channel.TeamId, ["user_id"] = user.Id }, new WsBroadcast(ChannelId: channel.Id)));
            // The real server writes a system message into the channel; bridges must skip system_* posts.
            var text = self ? $"@{user.Username} joined the channel." : $"@{user.Username} added to the channel by @{actor.Username}.";
            var props = self
                ? new JsonObject { ["username"] = user.Username }
                : new JsonObject { ["userId"] = actor.Id, ["username"] = actor.Username, ["addedUserId"] = user.Id, ["addedUsername"] = user.Username };
            InsertPost(self ? user : actor, channel, text, self ? "system_join_channel" : "system_add_to_channel", props, "", [], "");
            return member;
        }
    }

    public ChannelMemberRecord GetChannelMember(UserRecord actor, string channelId, string userId)
    {
        lock (Gate)
        {
            var channel = GetChannel(actor, channelId);
            return _channelMembers[channel.Id].GetValueOrDefault(userId)
                ?? throw new MmApiException(404, "app.channel.get_member.missing.app_error", "No channel member found for that user ID and channel ID.");
        }
    }

    public IReadOnlyList<string> ChannelMemberIds(string channelId)
    {
        lock (Gate)
        {
            return _channelMembers.TryGetValue(channelId, out var m) ? [.. m.Keys] : [];
        }
    }

    public void RemoveChannelMember(UserRecord actor, string channelId, string userId)
    {
        lock (Gate)
        {
            var channel = GetChannel(actor, channelId);
            if (!actor.IsAdmin && actor.Id != userId)
            {
                throw MmApiException.Forbidden();
            }
            // Like the real server, nobody but a guest leaves (or is removed from) a team's default channel.
            if (channel.Name == DefaultChannelName && !GetUser(userId).IsGuest)
            {
                throw new MmApiException(400, "api.channel.remove.default.app_error", $"Unable to remove user from the default channel {DefaultChannelName}.");
            }
            if (_channelMembers[channel.Id].Remove(userId))
            {
                Publish?.Invoke(new WsEvent("user_removed", new JsonObject { ["channel_id"] = channel.Id, ["remover_id"] = actor.Id, ["user_id"] = userId }, new WsBroadcast(ChannelId: channel.Id)));
            }
        }
    }

    // ------------------------------------------------------------------ files

    public FileRecord? FindFile(string id)
    {
        lock (Gate)
        {
            return _files.GetValueOrDefault(id);
        }
    }

    public FileRecord UploadFile(UserRecord actor, string channelId, string name, string mimeType, byte[] data)
    {
        lock (Gate)
        {
            var channel = _channels.GetValueOrDefault(channelId) ?? throw MmApiException.InvalidParam("channel_id");
            if (!CanPostIn(actor, channel))
            {
                throw MmApiException.Forbidden();
            }
            var file = new FileRecord
            {
                Id = MmIds.NewId(),
                UserId = actor.Id,
                ChannelId = channel.Id,
                CreateAt = Now(),
                Name = name,
                MimeType = mimeType,
                Data = data,
            };
            _files[file.Id] = file;
            return file;
        }
    }

    public FileRecord GetFile(UserRecord actor, string fileId)
    {
        lock (Gate)
        {
            var file = _files.GetValueOrDefault(fileId)
                ?? throw new MmApiException(404, "app.file_info.get.app_error", "Unable to get the file info.");
            // As the server's getFile: the uploader, or read_file_content in the channel, which only channel roles grant
            // (a team member outside a public channel may read its posts but not its files) and a system admin has.
            if (file.UserId != actor.Id && !actor.IsAdmin && !IsChannelMember(file.ChannelId, actor.Id))
            {
                throw MmApiException.Forbidden();
            }
            return file;
        }
    }
}
