using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Sandbox.Mattermost.Tests;

/// <summary>A started sandbox with an admin, a team, a channel, and a plain HTTP client.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(MattermostSandbox sandbox, SandboxSeed seed)
    {
        Sandbox = sandbox;
        Seed = seed;
        Http = new HttpClient { BaseAddress = sandbox.BaseUrl };
    }

    public MattermostSandbox Sandbox { get; }
    public SandboxSeed Seed { get; }
    public HttpClient Http { get; }

    public static async Task<TestServer> StartAsync(Action<SandboxSettings>? configure = null)
    {
        var settings = new SandboxSettings();
        configure?.Invoke(settings);
        var sandbox = new MattermostSandbox(settings);
        await sandbox.StartAsync();
        return new TestServer(sandbox, sandbox.Seed());
    }

    /// <summary>A normal user in the team and the seeded channel, with a token.</summary>
    public (SandboxUser User, string Token) AddMember(string username)
    {
        var user = Sandbox.CreateUser(username, "Passw0rd!");
        Sandbox.AddToTeam(Seed.Team.Id, user.Id);
        Sandbox.AddToChannel(Seed.Channel.Id, user.Id);
        return (user, Sandbox.CreateAccessToken(user.Id));
    }

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> SendAsync(HttpMethod method, string path, string? token, JsonNode? body = null, string scheme = "Bearer")
    {
        using var req = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            req.Headers.TryAddWithoutValidation("Authorization", $"{scheme} {token}");
        }
        if (body is not null)
        {
            req.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }
        var resp = await Http.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        JsonNode? json = null;
        if (resp.Content.Headers.ContentType?.MediaType == "application/json" && text.Length > 0)
        {
            json = JsonNode.Parse(text);
        }
        return (resp, json);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Sandbox.DisposeAsync();
    }
}

/// <summary>A minimal raw WebSocket client, to check frames exactly as the server writes them.</summary>
internal sealed class RawWs : IAsyncDisposable
{
    private readonly ClientWebSocket _ws = new();

    public static async Task<RawWs> ConnectAsync(Uri url, string? headerToken = null)
    {
        var raw = new RawWs();
        if (headerToken is not null)
        {
            raw._ws.Options.SetRequestHeader("Authorization", "Bearer " + headerToken);
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await raw._ws.ConnectAsync(url, cts.Token);
        return raw;
    }

    public WebSocketState State => _ws.State;

    public Task SendAsync(JsonObject msg) =>
        _ws.SendAsync(Encoding.UTF8.GetBytes(msg.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>Next frame, or null when the socket closed or broke.</summary>
    public async Task<JsonObject?> ReceiveAsync(int timeoutMs = 5000)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        var buffer = new byte[1 << 20];
        var count = 0;
        try
        {
            while (true)
            {
                var r = await _ws.ReceiveAsync(buffer.AsMemory(count), cts.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }
                count += r.Count;
                if (r.EndOfMessage)
                {
                    return (JsonObject)JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, count))!;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Skips frames until an event of that name arrives.</summary>
    public async Task<JsonObject> ExpectEventAsync(string name, int timeoutMs = 5000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (DateTime.UtcNow < deadline)
        {
            var msg = await ReceiveAsync((int)Math.Max(1, (deadline - DateTime.UtcNow).TotalMilliseconds));
            if (msg is null)
            {
                break;
            }
            if (msg["event"]?.GetValue<string>() == name)
            {
                return msg;
            }
        }
        throw new TimeoutException($"no {name} event");
    }

    public static async Task<(RawWs Ws, JsonObject Hello)> ConnectAuthenticatedAsync(Uri url, string token)
    {
        var ws = await ConnectAsync(url);
        await ws.SendAsync(new JsonObject { ["seq"] = 1, ["action"] = "authentication_challenge", ["data"] = new JsonObject { ["token"] = token } });
        var reply = await ws.ReceiveAsync();
        Assert.Equal("OK", reply?["status"]?.GetValue<string>());
        Assert.Equal(1, reply?["seq_reply"]?.GetValue<long>());
        var hello = await ws.ReceiveAsync();
        Assert.Equal("hello", hello?["event"]?.GetValue<string>());
        return (ws, hello!);
    }

    public async ValueTask DisposeAsync()
    {
        _ws.Abort();
        _ws.Dispose();
        await Task.CompletedTask;
    }
}

internal static class JsonExt
{
    public static string Str(this JsonNode? node, string name) => node?[name]?.GetValue<string>() ?? "";
}
