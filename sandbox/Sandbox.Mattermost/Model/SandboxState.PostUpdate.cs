using System.Text.Json.Nodes;
using Sandbox.Mattermost.Http;
using Sandbox.Mattermost.WebSockets;

namespace Sandbox.Mattermost.Model;

/// <summary>PUT /posts/{id} (the whole post: omitted fields become blank) and channel post paging around a post.</summary>
internal sealed partial class SandboxState
{
    public PostRecord UpdatePost(UserRecord actor, string postId, JsonObject body)
    {
        if (body["id"] is not JsonValue idValue || !idValue.TryGetValue<string>(out var bodyId) || bodyId != postId)
        {
            throw MmApiException.InvalidParam("id");
        }

        lock (Gate)
        {
            var post = EditablePost(actor, postId);
            var message = Str(body, "message");
            CheckMessage(message);
            var now = Now();
            if (message != post.Message)
            {
                post.Message = message;
                post.EditAt = now;
            }

            post.IsPinned = body["is_pinned"] is JsonValue p && p.TryGetValue<bool>(out var pinned) && pinned;
            post.Props = body["props"] is JsonObject props ? (JsonObject)props.DeepClone() : [];
            post.UpdateAt = now;
            Publish?.Invoke(new WsEvent("post_edited", new JsonObject { ["post"] = post.ToJson(this).ToJsonString() }, new WsBroadcast(ChannelId: post.ChannelId)));
            return post;
        }
    }

    /// <summary>What PUT and PATCH /posts/{id} both require: the post exists, is the actor's (or an admin's), live and not a system message.</summary>
    private PostRecord EditablePost(UserRecord actor, string postId)
    {
        var post = _posts.GetValueOrDefault(postId)
            ?? throw new MmApiException(404, "app.post.get.app_error", "Unable to get the post.");
        if (post.UserId != actor.Id && !actor.IsAdmin)
        {
            throw MmApiException.Forbidden();
        }

        if (post.DeleteAt != 0)
        {
            throw new MmApiException(400, "api.post.update_post.find.app_error", "We couldn't find the existing post or comment to update.");
        }

        return post.Type.StartsWith("system_", StringComparison.Ordinal)
            ? throw new MmApiException(400, "api.post.update_post.system_message.app_error", "Unable to update system message.")
            : post;
    }

    /// <summary>
    /// GET /channels/{id}/posts?before=|after= : the page of posts older (before) or newer (after) than the given post,
    /// newest first, with prev_post_id / next_post_id; an unknown post gives an empty list.
    /// </summary>
    public JsonObject PostsAround(UserRecord actor, string channelId, string? before, string? after, int page, int perPage)
    {
        lock (Gate)
        {
            var channel = GetChannel(actor, channelId);
            // Newest first; posts of the same millisecond in the order they were made (the sort is stable on the reversed list).
            var all = _posts.Values.Where(p => p.ChannelId == channel.Id && p.DeleteAt == 0).Reverse().OrderByDescending(p => p.CreateAt).ToList();
            var anchorId = before ?? after!;
            var anchor = all.FindIndex(p => p.Id == anchorId);
            List<PostRecord> list;
            if (anchor < 0)
            {
                list = [];
            }
            else if (before is not null)
            {
                list = all.Skip(anchor + 1).Skip(page * perPage).Take(perPage).ToList();
            }
            else
            {
                // Newer posts, nearest first in paging, returned newest first.
                var newer = all.Take(anchor).Reverse().Skip(page * perPage).Take(perPage).ToList();
                newer.Reverse();
                list = newer;
            }

            var posts = new JsonObject();
            foreach (var p in list)
            {
                posts[p.Id] = p.ToJson(this);
            }

            var result = PostList(list.Select(p => p.Id), posts);
            if (list.Count > 0)
            {
                var newestIndex = all.IndexOf(list[0]);
                var oldestIndex = all.IndexOf(list[^1]);
                result["next_post_id"] = newestIndex > 0 ? all[newestIndex - 1].Id : "";
                result["prev_post_id"] = oldestIndex + 1 < all.Count ? all[oldestIndex + 1].Id : "";
                result["has_next"] = newestIndex > 0;
            }

            return result;
        }
    }
}
