using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sandbox.Matrix;

namespace Bridge.Storm.Sides;

/// <summary>
/// Bob on the sandbox homeserver: he acts through the client-server API with his access token, as his client would, and
/// his view is the room's timeline as the homeserver keeps it.
/// </summary>
internal sealed class MatrixSide : Side
{
    private static readonly string[] MediaTypes = ["m.file", "m.image", "m.video", "m.audio"];
    private readonly MatrixSandbox _homeserver;
    private readonly string _roomId;
    private readonly string _userId;
    private readonly HttpClient _http;

    public MatrixSide(MatrixSandbox homeserver, string roomId, string userId, string accessToken)
    {
        _homeserver = homeserver;
        _roomId = roomId;
        _userId = userId;
        _http = new HttpClient { BaseAddress = homeserver.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
    }

    public override string Network => "matrix";

    public override Task<string> SayAsync(string text, CancellationToken cancellationToken) =>
        SendAsync("m.room.message", new JsonObject { ["msgtype"] = "m.text", ["body"] = text }, cancellationToken);

    public override async Task EditAsync(string handle, string text, CancellationToken cancellationToken) =>
        await SendAsync("m.room.message", new JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = "* " + text,
            ["m.new_content"] = new JsonObject { ["msgtype"] = "m.text", ["body"] = text },
            ["m.relates_to"] = new JsonObject { ["rel_type"] = "m.replace", ["event_id"] = handle },
        }, cancellationToken);

    public override async Task ReactAsync(string targetId, CancellationToken cancellationToken) =>
        await SendAsync("m.reaction", new JsonObject
        {
            ["m.relates_to"] = new JsonObject { ["rel_type"] = "m.annotation", ["event_id"] = targetId, ["key"] = "\U0001F44D" },
        }, cancellationToken);

    public override async Task ShareFileAsync(string name, CancellationToken cancellationToken)
    {
        var data = FileHost.Content(name);
        using var body = new ByteArrayContent(data);
        body.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using var response = await _http.PostAsync($"/_matrix/media/v3/upload?filename={Uri.EscapeDataString(name)}", body, cancellationToken);
        response.EnsureSuccessStatusCode();
        var uri = (await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken))!["content_uri"]!.GetValue<string>();
        await SendAsync("m.room.message", new JsonObject
        {
            ["msgtype"] = "m.file",
            ["body"] = name,
            ["filename"] = name,
            ["url"] = uri,
            ["info"] = new JsonObject { ["mimetype"] = "text/plain", ["size"] = data.Length },
        }, cancellationToken);
    }

    public override Task<RoomView> ViewAsync(CancellationToken cancellationToken)
    {
        var items = new List<VisibleItem>();
        var reactions = new List<VisibleReaction>();
        foreach (var e in _homeserver.GetTimeline(_roomId))
        {
            var type = (string?)e["type"];
            var content = e["content"] as JsonObject;
            var local = (string?)e["sender"] == _userId;
            var relates = content?["m.relates_to"] as JsonObject;
            if (type == "m.reaction" && (string?)relates?["event_id"] is { } target)
            {
                reactions.Add(new VisibleReaction(target, local));
            }
            else if (type == "m.room.message" && content is not null && (string?)e["event_id"] is { } id)
            {
                var msgtype = (string?)content["msgtype"];
                var body = (string?)content["body"] ?? "";
                var files = MediaTypes.Contains(msgtype) ? [(string?)content["filename"] ?? body] : Array.Empty<string>();
                items.Add(new VisibleItem(id, [id], body, local, IsCorrection: (string?)relates?["rel_type"] == "m.replace", EditedInPlace: false, files));
            }
        }

        return Task.FromResult(new RoomView(items, reactions));
    }

    public override ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<string> SendAsync(string type, JsonObject content, CancellationToken cancellationToken)
    {
        var txn = Guid.NewGuid().ToString("N");
        using var response = await _http.PutAsJsonAsync($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(_roomId)}/send/{type}/{txn}", content, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken))!["event_id"]!.GetValue<string>();
    }
}
