using System.Net;
using System.Text.Json.Nodes;
using Bridge.Mattermost.Api;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost;

/// <summary>Threads: a post whose thread the server refuses still arrives, in the channel.</summary>
public sealed partial class MattermostConnector
{
    /// <summary>
    /// Creates the post; when the server refuses its root (gone since it was looked up, or in another channel: 400
    /// <c>root_id</c> / <c>channel_root_id</c>), posts it again at the channel's top level rather than lose it.
    /// </summary>
    private async Task<string> CreatePostInThreadAsync(JsonObject body, string key, Poster poster, CancellationToken ct)
    {
        try
        {
            return await CreatePostAsync(body, key, poster, ct);
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.BadRequest
            && e.ErrorId is "api.post.create_post.root_id.app_error" or "api.post.create_post.channel_root_id.app_error"
            && body["root_id"]?.GetValue<string>() is { Length: > 0 } root)
        {
            _logger.LogWarning(MattermostLog.ThreadRefused, "The server refused root {Root} for post {Key} ({Error}); posted outside the thread", root, key, e.ErrorId);
            body["root_id"] = "";
            return await CreatePostAsync(body, key, poster, ct);
        }
    }
}
