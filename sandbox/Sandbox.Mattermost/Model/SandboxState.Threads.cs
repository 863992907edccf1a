using System.Text.Json.Nodes;

namespace Sandbox.Mattermost.Model;

/// <summary>Threads: <c>GET /posts/{post_id}/thread</c>, the root and its live replies, as the server lists them.</summary>
internal sealed partial class SandboxState
{
    /// <summary>
    /// The thread <paramref name="postId"/> is in (a reply names its root's thread), newest first, root included; 404
    /// <c>app.post.get.app_error</c> for a post that is gone, 403 without read access to the channel.
    /// </summary>
    public JsonObject PostThread(UserRecord actor, string postId)
    {
        lock (Gate)
        {
            var post = GetPost(actor, postId);
            var root = post.RootId.Length > 0 ? _posts.GetValueOrDefault(post.RootId) ?? post : post;
            // Posts of one millisecond keep the order they were made in (the root first): newest first throughout.
            var thread = _posts.Values.Where(p => p.DeleteAt == 0 && (p.Id == root.Id || p.RootId == root.Id))
                .Select((p, made) => (Post: p, Made: made))
                .OrderByDescending(x => x.Post.CreateAt).ThenByDescending(x => x.Made).Select(x => x.Post).ToList();
            var posts = new JsonObject();
            foreach (var p in thread)
            {
                posts[p.Id] = p.ToJson(this);
            }

            return PostList(thread.Select(p => p.Id), posts);
        }
    }
}
