using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sandbox.Mattermost.Api;
using Sandbox.Mattermost.Http;
using Sandbox.Mattermost.Model;
using Sandbox.Mattermost.WebSockets;

namespace Sandbox.Mattermost;

/// <summary>
/// A faithful in-memory Mattermost server (REST v4 + WebSocket) for tests and demos. State survives
/// <see cref="StopAsync"/> / <see cref="StartAsync"/> (a restart on the same port), WebSocket resume state does not,
/// exactly like a real server restart.
/// </summary>
public sealed class MattermostSandbox : IAsyncDisposable
{
    private readonly SandboxState _state;
    private readonly RateLimiter _limiter;
    private readonly HttpPipeline _pipeline;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private WsHub _hub;
    private WebApplication? _app;

    public MattermostSandbox(SandboxSettings? settings = null, TimeProvider? time = null)
    {
        Settings = settings ?? new SandboxSettings();
        var clock = time ?? TimeProvider.System;
        _state = new SandboxState(Settings, clock);
        _limiter = new RateLimiter(clock);
        _pipeline = new HttpPipeline(_state, _limiter);
        _hub = new WsHub(_state, () => _pipeline.VersionId);
    }

    public SandboxSettings Settings { get; }

    /// <summary>The bound port (stays the same across a restart).</summary>
    public int Port { get; private set; }

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}");

    public Uri WebSocketUrl => new($"ws://127.0.0.1:{Port}/api/v4/websocket");

    public bool IsRunning => _app is not null;

    /// <summary>Sockets currently attached to a logical WebSocket connection.</summary>
    public int ActiveWebSocketCount => _hub.ActiveSocketCount;

    /// <summary>Starts listening on 127.0.0.1; port 0 picks a free port the first time, later starts reuse it.</summary>
    public async Task StartAsync(int port = 0, CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            if (_app is not null)
            {
                return;
            }
            var listenPort = port != 0 ? port : Port;
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
            builder.WebHost.UseKestrel(o =>
            {
                o.Listen(IPAddress.Loopback, listenPort);
                o.Limits.MaxRequestBodySize = 110L * 1024 * 1024;
            });
            var app = builder.Build();
            app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(60) });
            app.Use((ctx, next) => _pipeline.InvokeAsync(ctx, next));
            var ws = new WsEndpoint(_state, _hub, () => _pipeline.VersionId);
            app.Map("/api/v4/websocket", ws.HandleAsync);
            UserEndpoints.Map(app, _state);
            TeamChannelEndpoints.Map(app, _state);
            PostEndpoints.Map(app, _state);
            DirectAndSearchEndpoints.Map(app, _state);
            SystemEndpoints.Map(app, _state);
            app.MapFallback(ctx => HttpPipeline.WriteErrorAsync(ctx,
                new MmApiException(404, "api.context.404.app_error", "Sorry, we could not find the page.")));
            await app.StartAsync(cancellationToken);
            _app = app;
            Port = new Uri(app.Urls.First()).Port;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops listening (connections refused) and forgets every WebSocket connection; data is kept.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            if (_app is null)
            {
                return;
            }
            _hub.DropAll(keepResumeQueue: false);
            await _app.StopAsync(cancellationToken);
            await _app.DisposeAsync();
            _app = null;
            _limiter.Reset();
            _state.ForgetVolatileState();
            // A restarted server knows no connection ids.
            _hub = new WsHub(_state, () => _pipeline.VersionId);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await StopAsync(cancellationToken);
        await StartAsync(Port, cancellationToken);
    }

    /// <summary>
    /// Drops every WebSocket. With <paramref name="keepResumeQueue"/> clients can resume (missed events are replayed);
    /// without it they get a new connection_id and hello and have to catch up over REST.
    /// </summary>
    public void DropWebSockets(bool keepResumeQueue) => _hub.DropAll(keepResumeQueue);

    /// <summary>
    /// Silences every current WebSocket without closing it: the server stops writing (no events, no pong replies), as on
    /// a half-dead network path. Clients must notice by their keepalive; events stay queued for their resume.
    /// </summary>
    public void FreezeWebSockets() => _hub.FreezeAll();

    // ------------------------------------------------------------------ seeding and inspection

    /// <summary>Creates a user (bypassing permission checks). Roles e.g. "system_user" or "system_user system_admin".</summary>
    public SandboxUser CreateUser(string username, string password = "Passw0rd!", bool admin = false, string? email = null)
    {
        var user = _state.SeedUser(username, password, admin ? "system_user system_admin" : "system_user", email);
        return ToPublic(user);
    }

    /// <summary>Mints a personal access token for a user regardless of EnableUserAccessTokens.</summary>
    public string CreateAccessToken(string userId) => _state.SeedAccessToken(userId);

    public SandboxTeam CreateTeam(string name, string displayName)
    {
        var team = _state.CreateTeam(name, displayName);
        return new SandboxTeam(team.Id, team.Name, team.DisplayName);
    }

    public SandboxChannel CreateChannel(string teamId, string name, string displayName, bool isPrivate = false)
    {
        var channel = _state.CreateChannel(teamId, name, displayName, isPrivate ? "P" : "O", "");
        return new SandboxChannel(channel.Id, channel.TeamId, channel.Name, channel.DisplayName, channel.Type);
    }

    public SandboxChannel? FindChannel(string teamName, string channelName)
    {
        var team = _state.FindTeamByName(teamName);
        var channel = team is null ? null : _state.FindChannelByName(team.Id, channelName);
        return channel is null ? null : new SandboxChannel(channel.Id, channel.TeamId, channel.Name, channel.DisplayName, channel.Type);
    }

    /// <summary>Sets a user's names as they would in their profile settings (through the same path as PUT /users/{id}/patch).</summary>
    public void SetNames(string userId, string firstName, string lastName, string nickname = "") =>
        _state.PatchUser(SystemActor(), userId, new JsonObject { ["first_name"] = firstName, ["last_name"] = lastName, ["nickname"] = nickname });

    /// <summary>Sets <paramref name="userId"/>'s picture as they would themselves (the same checks as the API: an image).</summary>
    public void SetProfileImage(string userId, byte[] image) => _state.SetProfileImage(_state.GetUser(userId), userId, image);

    /// <summary>The user's uploaded picture (null: the default drawn one).</summary>
    public byte[]? GetProfileImage(string userId) => _state.GetUser(userId).Picture?.Data;

    /// <summary>The user removes their picture (<c>DELETE /users/{id}/image</c> as themselves).</summary>
    public void ResetProfileImage(string userId) => _state.ResetProfileImage(_state.GetUser(userId), userId);

    /// <summary>How many <c>GET /users/{id}/image</c> requests named <paramref name="userId"/>.</summary>
    public int ProfileImageReads(string userId) => _state.PictureReads(userId);

    public void AddToTeam(string teamId, string userId) => _state.AddTeamMember(SystemActor(), teamId, userId);

    public void AddToChannel(string channelId, string userId) =>
        _state.AddChannelMember(_state.GetUser(userId), channelId, userId, bypassPermissions: true);

    public void RemoveFromChannel(string channelId, string userId) => _state.RemoveChannelMember(SystemActor(), channelId, userId);

    public void RemoveFromTeam(string teamId, string userId) => _state.RemoveTeamMember(teamId, userId);

    public bool IsChannelMember(string channelId, string userId) => _state.IsChannelMember(channelId, userId);

    public SandboxUser? FindUser(string username) => _state.FindUserByUsername(username) is { } u ? ToPublic(u) : null;

    public SandboxUser GetUser(string userId) => ToPublic(_state.GetUser(userId));

    public IReadOnlyList<SandboxUser> Users => [.. _state.AllUsers().Select(ToPublic)];

    /// <summary>Posts as a user through the same code path as POST /posts (events included).</summary>
    public SandboxPost Post(string userId, string channelId, string message, string rootId = "", JsonObject? props = null)
    {
        var body = new JsonObject { ["channel_id"] = channelId, ["message"] = message, ["root_id"] = rootId };
        if (props is not null)
        {
            body["props"] = props.DeepClone();
        }
        var (post, _) = _state.CreatePost(_state.GetUser(userId), body);
        return ToPublic(post);
    }

    public SandboxPost EditPost(string userId, string postId, string message) =>
        ToPublic(_state.PatchPost(_state.GetUser(userId), postId, new JsonObject { ["message"] = message }));

    public void DeletePost(string userId, string postId) => _state.DeletePost(_state.GetUser(userId), postId);

    public void React(string userId, string postId, string emojiName) =>
        _state.SaveReaction(_state.GetUser(userId), new JsonObject { ["user_id"] = userId, ["post_id"] = postId, ["emoji_name"] = emojiName });

    /// <summary>Takes back <paramref name="userId"/>'s reaction as that user would (the same checks as the REST call).</summary>
    public void Unreact(string userId, string postId, string emojiName) =>
        _state.DeleteReaction(_state.GetUser(userId), userId, postId, emojiName);

    /// <summary>Every post of a channel, oldest first, deleted and system posts included.</summary>
    public IReadOnlyList<SandboxPost> GetPosts(string channelId) => [.. _state.PostsOfChannel(channelId).Select(ToPublic)];

    /// <summary>Ephemeral notices sent through POST /posts/ephemeral (user id, text).</summary>
    public IReadOnlyList<(string UserId, string Message)> EphemeralMessages
    {
        get
        {
            lock (_state.Gate)
            {
                return [.. _state.Ephemeral];
            }
        }
    }

    /// <summary>Seeds an admin, a team and its channels the way a fresh install plus an admin's setup would.</summary>
    public SandboxSeed Seed(string adminUser = "admin", string adminPassword = "Admin-Passw0rd!", string teamName = "demo", string channelName = "town-square")
    {
        var admin = FindUser(adminUser) ?? CreateUser(adminUser, adminPassword, admin: true);
        var team = _state.FindTeamByName(teamName) is { } t ? new SandboxTeam(t.Id, t.Name, t.DisplayName) : CreateTeam(teamName, teamName);
        AddToTeam(team.Id, admin.Id);
        var channel = FindChannel(teamName, channelName) ?? CreateChannel(team.Id, channelName, channelName);
        AddToChannel(channel.Id, admin.Id);
        var token = CreateAccessToken(admin.Id);
        return new SandboxSeed(admin, token, team, channel);
    }

    /// <summary>
    /// Configuration keys for a bridge network pointing at this sandbox (<c>networks:&lt;id&gt;:…</c>), with quick
    /// reconnects for tests. Add them to an in-memory configuration next to the link definitions.
    /// </summary>
    public IReadOnlyDictionary<string, string?> BridgeConfiguration(string networkId, SandboxSeed seed, string organisation = "") => new Dictionary<string, string?>
    {
        [$"networks:{networkId}:kind"] = "mattermost",
        [$"networks:{networkId}:organisation"] = organisation.Length > 0 ? organisation : networkId,
        [$"networks:{networkId}:mattermost:url"] = BaseUrl.ToString(),
        [$"networks:{networkId}:mattermost:token"] = seed.AdminToken,
        [$"networks:{networkId}:mattermost:team"] = seed.Team.Name,
        [$"networks:{networkId}:mattermost:pingInterval"] = "00:00:02",
        [$"networks:{networkId}:mattermost:reconnectMinDelay"] = "00:00:00.200",
        [$"networks:{networkId}:mattermost:reconnectMaxDelay"] = "00:00:02",
    };

    /// <summary>The same settings without their <c>networks:&lt;id&gt;:mattermost:</c> prefix: the kind section a config builder writes.</summary>
    public Dictionary<string, string> BridgeSettings(SandboxSeed seed)
    {
        const string prefix = "networks:n:mattermost:";
        return BridgeConfiguration("n", seed).Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value ?? "");
    }

    /// <summary>A person of the seeded team, member of its channel: someone who can speak there.</summary>
    public SandboxUser CreateMember(SandboxSeed seed, string username)
    {
        ArgumentNullException.ThrowIfNull(seed);
        var user = CreateUser(username);
        AddToTeam(seed.Team.Id, user.Id);
        AddToChannel(seed.Channel.Id, user.Id);
        return user;
    }

    private UserRecord SystemActor() => new() { Id = new string('0', 26), Username = "system", Email = "", Roles = "system_admin" };

    private static SandboxUser ToPublic(UserRecord u) =>
        new(u.Id, u.Username, u.Email, u.FirstName, u.LastName, u.Nickname, u.Roles, u.IsBot, u.DeleteAt != 0) { LastPictureUpdate = u.LastPictureUpdate };

    private SandboxPost ToPublic(PostRecord p) => new(
        p.Id, p.UserId, p.ChannelId, p.RootId, p.Message, p.Type, (JsonObject)p.Props.DeepClone(), p.PendingPostId,
        p.CreateAt, p.UpdateAt, p.EditAt, p.DeleteAt, [.. p.FileIds],
        [.. _state.ReactionsOf(p.Id).Select(r => new SandboxReaction(r.UserId, r.EmojiName))],
        _state.DisplayedAuthorName(p));

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _lifecycle.Dispose();
    }
}

public sealed record SandboxUser(string Id, string Username, string Email, string FirstName, string LastName, string Nickname, string Roles, bool IsBot, bool IsDeleted)
{
    public bool IsGuest => Roles.Contains("system_guest", StringComparison.Ordinal);

    /// <summary>Non-zero once a profile picture was uploaded.</summary>
    public long LastPictureUpdate { get; init; }
}

public sealed record SandboxTeam(string Id, string Name, string DisplayName);

public sealed record SandboxChannel(string Id, string TeamId, string Name, string DisplayName, string Type);

public sealed record SandboxReaction(string UserId, string EmojiName);

public sealed record SandboxPost(
    string Id, string UserId, string ChannelId, string RootId, string Message, string Type, JsonObject Props, string PendingPostId,
    long CreateAt, long UpdateAt, long EditAt, long DeleteAt, IReadOnlyList<string> FileIds, IReadOnlyList<SandboxReaction> Reactions,
    string DisplayedAuthorName)
{
    public bool IsDeleted => DeleteAt != 0;
    public bool IsSystem => Type.StartsWith("system_", StringComparison.Ordinal);
}

public sealed record SandboxSeed(SandboxUser Admin, string AdminToken, SandboxTeam Team, SandboxChannel Channel);
