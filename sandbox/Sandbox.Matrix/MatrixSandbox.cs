using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sandbox.Matrix.Appservices;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Hosting;
using Sandbox.Matrix.Users;

namespace Sandbox.Matrix;

/// <summary>
/// A spec-faithful Matrix homeserver for tests and the demo. State lives in this object, so
/// <see cref="StopAsync"/> followed by <see cref="StartAsync"/> simulates an outage: same port, same rooms,
/// and appservice transactions that were pending are retried with their original ids after the restart.
/// </summary>
public sealed class MatrixSandbox : IAsyncDisposable
{
    private readonly Homeserver _homeserver;
    private readonly HttpClient _appserviceHttp;
    private readonly ILoggerFactory _loggerFactory;
    private readonly bool _consoleLogging;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private WebApplication? _app;
    private int _port;

    public MatrixSandbox(MatrixSandboxOptions? options = null, bool consoleLogging = false)
    {
        var opts = options ?? new MatrixSandboxOptions();
        opts.Validate();
        _consoleLogging = consoleLogging;
        _loggerFactory = LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(LogLevel.Information);
            if (consoleLogging)
            {
                b.AddSimpleConsole(o => o.SingleLine = true);
            }
        });
        _appserviceHttp = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = null,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        })
        { Timeout = Timeout.InfiniteTimeSpan };
        _homeserver = new Homeserver(opts, _loggerFactory, _appserviceHttp) { UseLegacyAppservicePaths = opts.UseLegacyAppservicePaths };
        _port = opts.Port;
    }

    public string ServerName => _homeserver.ServerName;

    /// <summary>The bound port (valid after the first start).</summary>
    public int Port => _port;

    public Uri BaseUrl => new($"http://{_homeserver.Options.BindAddress}:{_port}");

    public bool IsRunning => _app is not null;

    /// <summary>Legacy appservice paths (<c>/transactions/{id}?access_token=</c>) and no ping endpoint, like older homeservers.</summary>
    public bool UseLegacyAppservicePaths
    {
        get => _homeserver.UseLegacyAppservicePaths;
        set => _homeserver.UseLegacyAppservicePaths = value;
    }

    /// <summary>Rate limit per user in requests per second (null switches it off).</summary>
    public int? RateLimitPerSecond
    {
        get => _homeserver.RateLimiter.PerSecond;
        set => _homeserver.RateLimiter.PerSecond = value;
    }

    /// <summary>Test-only: every client-server and media request answers <c>500 M_UNKNOWN</c> for <paramref name="duration"/>.</summary>
    public void FailWithServerErrors(TimeSpan duration) => _homeserver.Faults.ServerErrors(duration);

    /// <summary>
    /// Test-only: every client-server and media request answers <c>429 M_LIMIT_EXCEEDED</c> with
    /// <c>retry_after_ms</c> = <paramref name="retryAfter"/> (and <c>Retry-After</c>) for <paramref name="duration"/>.
    /// </summary>
    public void RateLimitEverything(TimeSpan duration, TimeSpan retryAfter) => _homeserver.Faults.RateLimited(duration, retryAfter);

    /// <summary>Ends an injected fault at once.</summary>
    public void ClearFaults() => _homeserver.Faults.Clear();

    /// <summary>Requests answered with the injected fault since it was switched on.</summary>
    public int FaultedRequests => _homeserver.Faults.Hits;

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            if (_app is not null)
            {
                return;
            }

            var app = SandboxApp.Build(_homeserver, _port, _consoleLogging);
            await app.StartAsync(cancellationToken);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            _port = new Uri(address).Port;
            _app = app;
            foreach (var pusher in _homeserver.Pushers)
            {
                pusher.Start();
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops listening and pushing; all state (including unacknowledged transactions) is kept.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            if (_app is null)
            {
                return;
            }

            foreach (var pusher in _homeserver.Pushers)
            {
                await pusher.StopAsync();
            }

            await _app.StopAsync(cancellationToken);
            await _app.DisposeAsync();
            _app = null;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public void AddAppservice(AppserviceRegistration registration)
    {
        var pusher = _homeserver.AddAppservice(registration);
        if (_app is not null)
        {
            pusher.Start();
        }
    }

    /// <summary>
    /// Registers a bridge the way <c>bridge generate-registration</c> would: exclusive user and alias namespaces
    /// <c>@{puppetPrefix}.*:{server}</c> and <c>#{puppetPrefix}.*:{server}</c>, pushing to <paramref name="url"/>.
    /// </summary>
    public AppserviceRegistration AddBridgeAppservice(Uri url, string asToken, string hsToken, string id = "bridge",
        string senderLocalpart = "_bridge_bot", string puppetPrefix = "_bridge_", bool receiveEphemeral = true)
    {
        ArgumentNullException.ThrowIfNull(url);
        var server = System.Text.RegularExpressions.Regex.Escape(ServerName);
        var prefix = System.Text.RegularExpressions.Regex.Escape(puppetPrefix);
        var registration = new AppserviceRegistration
        {
            Id = id,
            Url = url.ToString(),
            AsToken = asToken,
            HsToken = hsToken,
            SenderLocalpart = senderLocalpart,
            // As the registration the bridge writes asks: both keys, so transactions carry both (the bridge reads the stable one first).
            ReceiveEphemeral = receiveEphemeral,
            ReceiveEphemeralUnstable = receiveEphemeral,
        };
        registration.Users.Add(new NamespaceEntry { Exclusive = true, Regex = "@" + prefix + ".*:" + server });
        registration.Aliases.Add(new NamespaceEntry { Exclusive = true, Regex = "#" + prefix + ".*:" + server });
        AddAppservice(registration);
        return registration;
    }

    public AppserviceRegistration LoadRegistrationFile(string path)
    {
        var registration = RegistrationLoader.LoadFile(path);
        AddAppservice(registration);
        return registration;
    }

    /// <summary>Creates a password user directly and returns a fresh access token for it.</summary>
    public SandboxUser CreateUser(string localpart, string? password = null)
    {
        var (userId, token, _) = _homeserver.CreateUser(localpart, password ?? "password");
        return new SandboxUser(userId, token!);
    }

    /// <summary>
    /// Creates a room as <paramref name="creatorUserId"/> (preset private_chat unless public); <paramref name="isDirect"/>
    /// marks the invites direct (<c>is_direct</c>), as clients start a DM.
    /// </summary>
    public string CreateRoom(string creatorUserId, bool isPublic = false, string? name = null, string? aliasLocalpart = null,
        IEnumerable<string>? invite = null, bool isDirect = false)
    {
        var body = new JsonObject { ["preset"] = isPublic ? "public_chat" : "private_chat" };
        if (isDirect)
        {
            body["is_direct"] = true;
        }

        if (name is not null)
        {
            body["name"] = name;
        }

        if (aliasLocalpart is not null)
        {
            body["room_alias_name"] = aliasLocalpart;
        }

        if (invite is not null)
        {
            body["invite"] = new JsonArray([.. invite.Select(u => (JsonNode)u)]);
        }

        return _homeserver.CreateRoom(Direct(creatorUserId), body)["room_id"]!.GetValue<string>();
    }

    public void Invite(string roomId, string inviterUserId, string inviteeUserId) =>
        _homeserver.Invite(Direct(inviterUserId), roomId, inviteeUserId, null);

    public void Join(string roomId, string userId) => _homeserver.Join(Direct(userId), roomId);

    public void Leave(string roomId, string userId) => _homeserver.Leave(Direct(userId), roomId, null);

    /// <summary>Sends an <c>m.room.message</c> as a user and returns its event id.</summary>
    public string SendMessage(string roomId, string userId, string body, string msgtype = "m.text", string? formattedHtml = null)
    {
        var content = new JsonObject { ["msgtype"] = msgtype, ["body"] = body };
        if (formattedHtml is not null)
        {
            content["format"] = "org.matrix.custom.html";
            content["formatted_body"] = formattedHtml;
        }

        return SendEvent(roomId, userId, "m.room.message", content);
    }

    public string SendEvent(string roomId, string userId, string type, JsonObject content) =>
        _homeserver.Send(Direct(userId), roomId, type, "sandbox-" + Guid.NewGuid().ToString("N"), content, null);

    /// <summary>Redacts an event as <paramref name="userId"/> would (same power-level checks as the client API).</summary>
    public string Redact(string roomId, string userId, string eventId) =>
        _homeserver.Redact(Direct(userId), roomId, eventId, "sandbox-" + Guid.NewGuid().ToString("N"), null);

    /// <summary>Sets or clears a user's typing in a room, with the checks of <c>PUT /rooms/{roomId}/typing/{userId}</c>.</summary>
    public void SetTyping(string roomId, string userId, bool typing, TimeSpan? timeout = null) =>
        _homeserver.SetTyping(Direct(userId), roomId, userId, typing, timeout is { } t ? (long)t.TotalMilliseconds : null);

    /// <summary>Who is typing in a room now (the user ids of its m.typing), sorted.</summary>
    public IReadOnlyList<string> GetTyping(string roomId) => _homeserver.TypingIn(roomId);

    public void SetDisplayName(string userId, string displayName) =>
        _homeserver.SetProfileField(Direct(userId), userId, "displayname", displayName);

    /// <summary>Sets <paramref name="userId"/>'s profile <c>avatar_url</c> (an mxc URI; the homeserver does not check it exists) and member events.</summary>
    public void SetAvatarUrl(string userId, string mxcUri) =>
        _homeserver.SetProfileField(Direct(userId), userId, "avatar_url", mxcUri);

    /// <summary>Stores <paramref name="data"/> in the media repository as an upload would; its <c>mxc://</c> URI.</summary>
    public string UploadMedia(byte[] data, string contentType, string? fileName = null) =>
        $"mxc://{_homeserver.ServerName}/{_homeserver.Media.Add(data, contentType, fileName)}";

    /// <summary>The bytes and type stored under <paramref name="mxcUri"/> on this server, or null.</summary>
    public (byte[] Data, string ContentType)? GetMedia(string mxcUri)
    {
        var prefix = $"mxc://{_homeserver.ServerName}/";
        return mxcUri.StartsWith(prefix, StringComparison.Ordinal) && _homeserver.Media.Get(mxcUri[prefix.Length..]) is { } m ? (m.Data, m.ContentType) : null;
    }

    /// <summary>How many download requests (either path, found or not) named <paramref name="mxcUri"/>'s media id.</summary>
    public int MediaDownloads(string mxcUri) => _homeserver.Media.Downloads(mxcUri[(mxcUri.LastIndexOf('/') + 1)..]);

    /// <summary>The room's timeline as stored (client format with room_id), oldest first.</summary>
    public IReadOnlyList<JsonObject> GetTimeline(string roomId) => _homeserver.Timeline(roomId);

    /// <summary>Only the <c>m.room.message</c> events of a room, oldest first.</summary>
    public IReadOnlyList<JsonObject> GetMessages(string roomId) =>
        [.. _homeserver.Timeline(roomId).Where(e => e["type"]?.GetValue<string>() == "m.room.message")];

    public IReadOnlyList<string> GetMembers(string roomId, string membership = "join") => _homeserver.Members(roomId, membership);

    /// <summary>
    /// Waits until <paramref name="userId"/> has joined <paramref name="roomId"/> (an appservice is sent a room's events
    /// only once one of its users is in it); a <see cref="TimeoutException"/> after <paramref name="timeout"/>.
    /// </summary>
    public async Task WaitForJoinAsync(string roomId, string userId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!GetMembers(roomId).Contains(userId))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{userId} did not join {roomId} within {timeout.TotalSeconds:0} s");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>The rooms in which a user has the membership (join, invite, leave).</summary>
    public IReadOnlyList<string> RoomsWithMember(string userId, string membership = "join") => _homeserver.RoomsOf(userId, membership);

    public JsonObject GetProfile(string userId) => _homeserver.GetProfile(userId);

    /// <summary>A user's global account data of one type (e.g. <c>m.direct</c>), or null when none is set.</summary>
    public JsonObject? GetAccountData(string userId, string type)
    {
        try
        {
            return _homeserver.GetAccountData(Direct(userId), userId, type);
        }
        catch (MatrixException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public bool UserExists(string userId) => _homeserver.UserExists(userId);

    public Task<string> ResolveAliasAsync(string alias, CancellationToken cancellationToken = default) =>
        _homeserver.ResolveAliasAsync(alias, cancellationToken);

    /// <summary>Every push attempt of transactions to an appservice, in order.</summary>
    public IReadOnlyList<TransactionAttempt> GetTransactionAttempts(string appserviceId) =>
        _homeserver.FindAppservice(appserviceId)?.Attempts ?? [];

    /// <summary>Events not yet acknowledged by the appservice (queued or in flight).</summary>
    public int GetPendingEventCount(string appserviceId) => _homeserver.FindAppservice(appserviceId)?.Pending ?? 0;

    /// <summary>Holds (or lets go) the transactions pushed to an appservice: its events queue meanwhile, in order.</summary>
    public void HoldTransactions(string appserviceId, bool held) =>
        (_homeserver.FindAppservice(appserviceId) ?? throw new InvalidOperationException($"no appservice '{appserviceId}'")).Hold(held);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _appserviceHttp.Dispose();
        _loggerFactory.Dispose();
        _lifecycle.Dispose();
    }

    private static Principal Direct(string userId) => new(userId, "sandbox:" + userId, null, null);
}

/// <summary>A user created through the test controls, with an access token usable on the client-server API.</summary>
public sealed record SandboxUser(string UserId, string AccessToken);
