using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sandbox.Mattermost.Http;
using Sandbox.Mattermost.WebSockets;

namespace Sandbox.Mattermost.Model;

internal sealed partial class SandboxState
{
    [GeneratedRegex(@"^[a-zA-Z0-9\-\+_]+$")]
    private static partial Regex EmojiName();

    public PostRecord? FindPost(string postId)
    {
        lock (Gate)
        {
            return _posts.GetValueOrDefault(postId);
        }
    }

    public int ReplyCount(PostRecord post)
    {
        lock (Gate)
        {
            return post.RootId.Length == 0 ? _posts.Values.Count(p => p.RootId == post.Id && p.DeleteAt == 0) : 0;
        }
    }

    public IReadOnlyList<ReactionRecord> ReactionsOf(string postId)
    {
        lock (Gate)
        {
            return [.. _reactions.Where(r => r.PostId == postId)];
        }
    }

    public IReadOnlyList<PostRecord> PostsOfChannel(string channelId)
    {
        lock (Gate)
        {
            return [.. _posts.Values.Where(p => p.ChannelId == channelId).OrderBy(p => p.CreateAt)];
        }
    }

    public (PostRecord Post, bool Deduplicated) CreatePost(UserRecord actor, JsonObject body)
    {
        lock (Gate)
        {
            var channelId = Str(body, "channel_id");
            var message = Str(body, "message");
            var rootId = Str(body, "root_id");
            var pendingPostId = Str(body, "pending_post_id");
            var type = Str(body, "type");
            if (!MmIds.IsValid(channelId))
            {
                throw MmApiException.InvalidParam("channel_id");
            }
            var channel = _channels.GetValueOrDefault(channelId);
            if (channel is null || !CanPostIn(actor, channel))
            {
                throw MmApiException.Forbidden();
            }
            if (channel.DeleteAt != 0)
            {
                throw new MmApiException(400, "api.post.create_post.can_not_post_to_deleted.error", "Can not post to deleted channel.");
            }
            PrunePendingPosts();
            if (pendingPostId.Length > 0 && _pendingPosts.TryGetValue(pendingPostId, out var seen) && _posts.TryGetValue(seen.PostId, out var already))
            {
                return (already, true);
            }
            if (rootId.Length > 0)
            {
                if (!_posts.TryGetValue(rootId, out var root) || root.RootId.Length > 0 || root.DeleteAt != 0)
                {
                    throw new MmApiException(400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter.");
                }
                if (root.ChannelId != channel.Id)
                {
                    // The app layer raises this one as a 500, but CreatePostAsUser (the path of POST /posts) turns it into a 400.
                    throw new MmApiException(400, "api.post.create_post.channel_root_id.app_error", "Invalid ChannelId for RootId parameter.");
                }
            }
            if (type.Length > 0 && !type.StartsWith("custom_", StringComparison.Ordinal) && type != "me" && type != "slack_attachment")
            {
                throw new MmApiException(400, "model.post.is_valid.type.app_error", "Invalid type.");
            }
            CheckMessage(message);
            var fileIds = ReadFileIds(body);
            var props = body["props"] as JsonObject is { } p ? (JsonObject)p.DeepClone() : [];
            props.Remove("add_channel_member");
            if (actor.IsBot)
            {
                props["from_bot"] = "true";
            }
            var post = InsertPost(actor, channel, message, type, props, rootId, fileIds, pendingPostId);
            if (pendingPostId.Length > 0)
            {
                _pendingPosts[pendingPostId] = (post.Id, Time.GetUtcNow());
            }
            return (post, false);
        }
    }

    /// <summary>A restart forgets what only lived in memory on a real server: the pending_post_id cache.</summary>
    public void ForgetVolatileState()
    {
        lock (Gate)
        {
            _pendingPosts.Clear();
        }
    }

    private void PrunePendingPosts()
    {
        var cutoff = Time.GetUtcNow() - PendingPostTtl;
        foreach (var key in _pendingPosts.Where(kv => kv.Value.At < cutoff).Select(kv => kv.Key).ToList())
        {
            _pendingPosts.Remove(key);
        }
    }

    private void CheckMessage(string message)
    {
        if (message.EnumerateRunes().Count() > Settings.MaxPostSize)
        {
            throw new MmApiException(400, "model.post.is_valid.msg.app_error", "Invalid Message.");
        }
    }

    private static List<string> ReadFileIds(JsonObject body)
    {
        if (body["file_ids"] is not JsonArray arr)
        {
            return [];
        }
        var ids = arr.Select(n => n?.GetValue<string>() ?? "").ToList();
        // PostFileidsMaxRunes = 300 on the JSON array: at most 10 ids.
        if (JsonSerializer.Serialize(ids).Length > 300 || ids.Any(i => !MmIds.IsValid(i)))
        {
            throw new MmApiException(400, "model.post.is_valid.file_ids.app_error", "Invalid file ids.");
        }
        return ids;
    }

    private PostRecord InsertPost(UserRecord author, ChannelRecord channel, string message, string type, JsonObject props, string rootId, List<string> fileIds, string pendingPostId)
    {
        var now = Now();
        var post = new PostRecord
        {
            Id = MmIds.NewId(),
            UserId = author.Id,
            ChannelId = channel.Id,
            CreateAt = now,
            UpdateAt = now,
            RootId = rootId,
            Message = message,
            Type = type,
            Props = props,
            PendingPostId = pendingPostId,
        };
        // Files attach to one post only, and only the uploader's; others are silently dropped like the server does.
        foreach (var id in fileIds)
        {
            if (_files.TryGetValue(id, out var f) && f.PostId.Length == 0 && f.UserId == author.Id && f.ChannelId == channel.Id)
            {
                f.PostId = post.Id;
                post.FileIds.Add(id);
            }
        }
        _posts[post.Id] = post;
        channel.LastPostAt = now;
        channel.TotalMsgCount++;
        if (rootId.Length > 0 && _posts.TryGetValue(rootId, out var root))
        {
            root.UpdateAt = now;
        }
        var data = new JsonObject
        {
            ["channel_display_name"] = channel.DisplayName,
            ["channel_name"] = channel.Name,
            ["channel_type"] = channel.Type,
            ["post"] = post.ToJson(this).ToJsonString(),
            ["sender_name"] = SenderName(author, post),
            ["set_online"] = true,
            ["team_id"] = channel.TeamId,
        };
        if (post.FileIds.Count > 0)
        {
            data["otherFile"] = "true";
        }
        Publish?.Invoke(new WsEvent("posted", data, new WsBroadcast(ChannelId: channel.Id)));
        return post;
    }

    private string SenderName(UserRecord author, PostRecord post)
    {
        if (Settings.EnablePostUsernameOverride && post.Props["override_username"] is JsonValue v && v.TryGetValue<string>(out var name))
        {
            return name;
        }
        return "@" + author.Username;
    }

    /// <summary>How a client renders the author name: the override only when from_webhook and the setting allow it.</summary>
    public string DisplayedAuthorName(PostRecord post)
    {
        lock (Gate)
        {
            var author = _users[post.UserId];
            var fromWebhook = post.Props["from_webhook"] is JsonValue fw && fw.TryGetValue<string>(out var s) && s == "true";
            return fromWebhook && Settings.EnablePostUsernameOverride && post.Props["override_username"] is JsonValue v && v.TryGetValue<string>(out var name)
                ? name
                : author.Username;
        }
    }

    public PostRecord GetPost(UserRecord actor, string postId)
    {
        lock (Gate)
        {
            var post = _posts.GetValueOrDefault(postId);
            if (post is null || post.DeleteAt != 0)
            {
                throw new MmApiException(404, "app.post.get.app_error", "Unable to get the post.");
            }
            if (!CanReadChannel(actor, _channels[post.ChannelId]))
            {
                throw MmApiException.Forbidden();
            }
            return post;
        }
    }

    public PostRecord PatchPost(UserRecord actor, string postId, JsonObject patch)
    {
        lock (Gate)
        {
            var post = EditablePost(actor, postId);
            var now = Now();
            if (patch["message"] is not null)
            {
                var message = Str(patch, "message");
                CheckMessage(message);
                if (message != post.Message)
                {
                    post.Message = message;
                    post.EditAt = now;
                }
            }
            if (patch["is_pinned"] is JsonValue pinned && pinned.TryGetValue<bool>(out var pin))
            {
                post.IsPinned = pin;
            }
            if (patch["props"] is JsonObject props)
            {
                post.Props = (JsonObject)props.DeepClone();
            }
            post.UpdateAt = now;
            Publish?.Invoke(new WsEvent("post_edited", new JsonObject { ["post"] = post.ToJson(this).ToJsonString() }, new WsBroadcast(ChannelId: post.ChannelId)));
            return post;
        }
    }

    public void DeletePost(UserRecord actor, string postId)
    {
        lock (Gate)
        {
            var post = _posts.GetValueOrDefault(postId);
            if (post is null || post.DeleteAt != 0)
            {
                throw new MmApiException(404, "app.post.get.app_error", "Unable to get the post.");
            }
            if (post.UserId != actor.Id && !actor.IsAdmin)
            {
                throw MmApiException.Forbidden();
            }
            var now = Now();
            var affected = new List<PostRecord> { post };
            if (post.RootId.Length == 0)
            {
                affected.AddRange(_posts.Values.Where(p => p.RootId == post.Id && p.DeleteAt == 0));
            }
            foreach (var p in affected)
            {
                p.DeleteAt = now;
                p.UpdateAt = now;
            }
            var json = post.ToJson(this).ToJsonString();
            Publish?.Invoke(new WsEvent(
                "post_deleted",
                new JsonObject { ["post"] = json },
                new WsBroadcast(ChannelId: post.ChannelId),
                AdminData: new JsonObject { ["post"] = json, ["delete_by"] = actor.Id }));
        }
    }

    /// <summary>GET /channels/{id}/posts?since= : everything with update_at &gt; since, deleted posts included.</summary>
    public JsonObject PostsSince(UserRecord actor, string channelId, long since)
    {
        lock (Gate)
        {
            var channel = GetChannel(actor, channelId);
            var changed = _posts.Values.Where(p => p.ChannelId == channel.Id && p.UpdateAt > since)
                .OrderByDescending(p => p.CreateAt).Take(1000).ToList();
            var posts = new JsonObject();
            foreach (var p in changed)
            {
                posts[p.Id] = p.ToJson(this);
                if (p.RootId.Length > 0 && posts[p.RootId] is null && _posts.TryGetValue(p.RootId, out var root))
                {
                    posts[root.Id] = root.ToJson(this);
                }
            }
            return PostList(changed.Select(p => p.Id), posts);
        }
    }

    public JsonObject PostsPage(UserRecord actor, string channelId, int page, int perPage)
    {
        lock (Gate)
        {
            var channel = GetChannel(actor, channelId);
            var list = _posts.Values.Where(p => p.ChannelId == channel.Id && p.DeleteAt == 0)
                .OrderByDescending(p => p.CreateAt).Skip(page * perPage).Take(perPage).ToList();
            var posts = new JsonObject();
            foreach (var p in list)
            {
                posts[p.Id] = p.ToJson(this);
            }
            return PostList(list.Select(p => p.Id), posts);
        }
    }

    private static JsonObject PostList(IEnumerable<string> order, JsonObject posts) => new()
    {
        ["order"] = new JsonArray(order.Select(id => (JsonNode?)JsonValue.Create(id)).ToArray()),
        ["posts"] = posts,
        ["next_post_id"] = "",
        ["prev_post_id"] = "",
        ["has_next"] = false,
        ["first_inaccessible_post_time"] = 0,
    };

    public ReactionRecord SaveReaction(UserRecord actor, JsonObject body)
    {
        lock (Gate)
        {
            var userId = Str(body, "user_id");
            var postId = Str(body, "post_id");
            var emoji = Str(body, "emoji_name");
            if (!MmIds.IsValid(userId) || !MmIds.IsValid(postId) || emoji.Length == 0 || emoji.Length > 64 || !EmojiName().IsMatch(emoji))
            {
                throw new MmApiException(400, "api.reaction.save_reaction.invalid.app_error", "Reaction is not valid.");
            }
            if (userId != actor.Id)
            {
                throw new MmApiException(403, "api.reaction.save_reaction.user_id.app_error", "You cannot save reaction for the other user.");
            }
            var post = _posts.GetValueOrDefault(postId);
            if (post is null || post.DeleteAt != 0)
            {
                throw new MmApiException(404, "app.post.get.app_error", "Unable to get the post.");
            }
            var channel = _channels[post.ChannelId];
            if (!CanPostIn(actor, channel))
            {
                throw MmApiException.Forbidden();
            }
            var existing = _reactions.FirstOrDefault(r => r.PostId == postId && r.UserId == userId && r.EmojiName == emoji);
            if (existing is not null)
            {
                return existing;
            }
            var now = Now();
            var reaction = new ReactionRecord { UserId = userId, PostId = postId, EmojiName = emoji, ChannelId = channel.Id, CreateAt = now };
            _reactions.Add(reaction);
            post.HasReactions = true;
            post.UpdateAt = now;
            Publish?.Invoke(new WsEvent("reaction_added", new JsonObject { ["reaction"] = reaction.ToJson().ToJsonString() }, new WsBroadcast(ChannelId: channel.Id)));
            return reaction;
        }
    }

    /// <summary>
    /// DELETE /users/{user_id}/posts/{post_id}/reactions/{emoji_name}, in the real server's order: the emoji name's
    /// form (400), remove_reaction in the post's channel (403; a post that does not exist has no channel, so only a
    /// system admin gets past), remove_others_reactions for someone else's (403), the post (404), an archived channel
    /// (403). Removing a reaction that is not there succeeds, and reaction_removed is broadcast either way, carrying the
    /// reaction as the request named it (no create_at), as the real server does.
    /// </summary>
    public void DeleteReaction(UserRecord actor, string userId, string postId, string emoji)
    {
        lock (Gate)
        {
            if (emoji.Length == 0 || emoji.Length > 64 || !EmojiName().IsMatch(emoji))
            {
                throw MmApiException.InvalidUrlParam("emoji_name");
            }
            var post = _posts.GetValueOrDefault(postId);
            var channel = post is null ? null : _channels[post.ChannelId];
            if (channel is null ? !actor.IsAdmin : !CanPostIn(actor, channel))
            {
                throw MmApiException.Forbidden();
            }
            if (userId != actor.Id && !actor.IsAdmin)
            {
                throw MmApiException.Forbidden();
            }
            if (post is null || post.DeleteAt != 0)
            {
                throw new MmApiException(404, "app.post.get.app_error", "Unable to get the post.");
            }
            if (channel!.DeleteAt != 0)
            {
                throw new MmApiException(403, "api.reaction.delete.archived_channel.app_error", "You cannot remove a reaction in an archived channel.");
            }
            var reaction = _reactions.FirstOrDefault(r => r.PostId == postId && r.UserId == userId && r.EmojiName == emoji);
            var now = Now();
            if (reaction is not null)
            {
                _reactions.Remove(reaction);
                post.HasReactions = _reactions.Any(r => r.PostId == postId);
                post.UpdateAt = now;
            }
            var named = new ReactionRecord { UserId = userId, PostId = postId, EmojiName = emoji, ChannelId = post.ChannelId };
            Publish?.Invoke(new WsEvent("reaction_removed", new JsonObject { ["reaction"] = named.ToJson().ToJsonString() }, new WsBroadcast(ChannelId: post.ChannelId)));
        }
    }

    /// <summary>POST /posts/ephemeral: not stored, sent only to that user's sockets (needs create_post_ephemeral: admins).</summary>
    public JsonObject CreateEphemeralPost(UserRecord actor, string userId, JsonObject post)
    {
        lock (Gate)
        {
            if (!actor.IsAdmin)
            {
                throw MmApiException.Forbidden();
            }
            GetUser(userId);
            var channelId = Str(post, "channel_id");
            if (!_channels.ContainsKey(channelId))
            {
                throw MmApiException.InvalidParam("channel_id");
            }
            var now = Now();
            var json = new JsonObject
            {
                ["id"] = MmIds.NewId(), ["create_at"] = now, ["update_at"] = now, ["edit_at"] = 0, ["delete_at"] = 0,
                ["user_id"] = actor.Id, ["channel_id"] = channelId, ["root_id"] = "", ["message"] = Str(post, "message"),
                ["type"] = "system_ephemeral", ["props"] = new JsonObject(),
            };
            Ephemeral.Add((userId, Str(post, "message")));
            Publish?.Invoke(new WsEvent("ephemeral_message", new JsonObject { ["post"] = json.ToJsonString() }, new WsBroadcast(UserId: userId)));
            return json;
        }
    }

    /// <summary>Ephemeral messages sent so far (user id, text), for tests.</summary>
    public List<(string UserId, string Message)> Ephemeral { get; } = [];

    public void PublishTyping(UserRecord actor, string channelId, string parentId)
    {
        lock (Gate)
        {
            var channel = _channels.GetValueOrDefault(channelId);
            if (channel is null || !CanPostIn(actor, channel))
            {
                throw new MmApiException(400, "api.websocket_handler.invalid_param.app_error", "Invalid channel_id parameter.");
            }
            Publish?.Invoke(new WsEvent("typing", new JsonObject { ["parent_id"] = parentId, ["user_id"] = actor.Id },
                new WsBroadcast(ChannelId: channel.Id, OmitUsers: [actor.Id])));
        }
    }
}
