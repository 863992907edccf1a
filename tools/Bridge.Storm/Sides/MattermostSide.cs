using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sandbox.Mattermost;

namespace Bridge.Storm.Sides;

/// <summary>
/// Carol on the sandbox Mattermost: she acts through the REST API with her personal access token, as the webapp would,
/// and her view is the channel's posts as the server keeps them (files named by their file info).
/// </summary>
internal sealed class MattermostSide : Side
{
    private readonly MattermostSandbox _server;
    private readonly string _channelId;
    private readonly string _userId;
    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<string, string> _fileNames = new(StringComparer.Ordinal);

    public MattermostSide(MattermostSandbox server, string channelId, string userId, string accessToken)
    {
        _server = server;
        _channelId = channelId;
        _userId = userId;
        _http = new HttpClient { BaseAddress = server.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
    }

    public override string Network => "mm";

    public override async Task<string> SayAsync(string text, CancellationToken cancellationToken) =>
        (string)(await PostAsync("/api/v4/posts", new JsonObject { ["channel_id"] = _channelId, ["message"] = text }, cancellationToken))["id"]!;

    public override async Task EditAsync(string handle, string text, CancellationToken cancellationToken)
    {
        using var response = await _http.PutAsJsonAsync($"/api/v4/posts/{handle}/patch", new JsonObject { ["message"] = text }, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public override async Task ReactAsync(string targetId, CancellationToken cancellationToken) =>
        await PostAsync("/api/v4/reactions", new JsonObject { ["user_id"] = _userId, ["post_id"] = targetId, ["emoji_name"] = "thumbsup" }, cancellationToken);

    public override async Task ShareFileAsync(string name, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent();
        using var channel = new StringContent(_channelId);
        using var file = new ByteArrayContent(FileHost.Content(name));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        form.Add(channel, "channel_id");
        form.Add(file, "files", name);
        using var response = await _http.PostAsync("/api/v4/files", form, cancellationToken);
        response.EnsureSuccessStatusCode();
        var uploaded = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
        var fileId = (string)uploaded!["file_infos"]![0]!["id"]!;
        _fileNames[fileId] = name;
        await PostAsync("/api/v4/posts", new JsonObject { ["channel_id"] = _channelId, ["message"] = "", ["file_ids"] = new JsonArray(fileId) }, cancellationToken);
    }

    public override async Task<RoomView> ViewAsync(CancellationToken cancellationToken)
    {
        var items = new List<VisibleItem>();
        var reactions = new List<VisibleReaction>();
        foreach (var post in _server.GetPosts(_channelId).Where(p => !p.IsDeleted && !p.IsSystem))
        {
            var files = new List<string>();
            foreach (var fileId in post.FileIds)
            {
                files.Add(await FileNameAsync(fileId, cancellationToken));
            }

            var local = post.UserId == _userId;
            items.Add(new VisibleItem(post.Id, [post.Id], post.Message, local, IsCorrection: false, EditedInPlace: post.EditAt != 0, files));
            reactions.AddRange(post.Reactions.Select(r => new VisibleReaction(post.Id, r.UserId == _userId)));
        }

        return new RoomView(items, reactions);
    }

    public override ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The name a person sees on the file (GET /files/{id}/info), asked once per file.</summary>
    private async Task<string> FileNameAsync(string fileId, CancellationToken cancellationToken)
    {
        if (_fileNames.TryGetValue(fileId, out var known))
        {
            return known;
        }

        var info = await _http.GetFromJsonAsync<JsonObject>($"/api/v4/files/{fileId}/info", cancellationToken);
        var name = (string?)info?["name"] ?? "";
        _fileNames[fileId] = name;
        return name;
    }

    private async Task<JsonObject> PostAsync(string path, JsonObject body, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync(path, body, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken))!;
    }
}
