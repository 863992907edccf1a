using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bridge.Matrix.Client;

/// <summary>
/// A typed client-server API client for an application service: authenticates with the <c>as_token</c> and
/// acts for puppets through identity assertion (<c>?user_id=</c>). No Matrix SDK is used.
/// </summary>
public sealed class MatrixClient(HttpClient http, Uri homeserver, string asToken)
{
    private const string V3 = "_matrix/client/v3/";

    public Uri Homeserver { get; } = homeserver;

    public async Task<IReadOnlyList<string>> GetVersionsAsync(CancellationToken ct)
    {
        var body = await SendAsync(HttpMethod.Get, "_matrix/client/versions", null, null, authenticated: false, ct);
        return body["versions"] is JsonArray versions ? [.. versions.Select(v => v!.GetValue<string>())] : [];
    }

    public async Task<string> WhoAmIAsync(string? asUser, CancellationToken ct)
    {
        var body = await SendAsync(HttpMethod.Get, V3 + "account/whoami", asUser, null, true, ct);
        return Str(body, "user_id");
    }

    /// <summary>Registers a user in the appservice namespace; false if it already existed.</summary>
    public async Task<bool> RegisterAppserviceUserAsync(string localpart, CancellationToken ct)
    {
        try
        {
            await SendAsync(HttpMethod.Post, V3 + "register", null,
                new JsonObject { ["type"] = "m.login.application_service", ["username"] = localpart, ["inhibit_login"] = true }, true, ct);
            return true;
        }
        catch (MatrixApiException ex) when (ex.ErrCode == "M_USER_IN_USE")
        {
            return false;
        }
    }

    public async Task<string?> GetDisplayNameAsync(string userId, CancellationToken ct)
    {
        try
        {
            var body = await SendAsync(HttpMethod.Get, V3 + "profile/" + Esc(userId) + "/displayname", null, null, true, ct);
            return Formatting.JsonStrings.Of(body["displayname"]);
        }
        catch (MatrixApiException ex) when (ex.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The user's profile <c>avatar_url</c>, or null when they have none (or the profile is not found).</summary>
    public async Task<string?> GetAvatarUrlAsync(string userId, CancellationToken ct)
    {
        try
        {
            var body = await SendAsync(HttpMethod.Get, V3 + "profile/" + Esc(userId) + "/avatar_url", null, null, true, ct);
            return Formatting.JsonStrings.Of(body["avatar_url"]);
        }
        catch (MatrixApiException ex) when (ex.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public Task SetDisplayNameAsync(string userId, string displayName, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, V3 + "profile/" + Esc(userId) + "/displayname", userId, new JsonObject { ["displayname"] = displayName }, true, ct);

    public Task SetAvatarUrlAsync(string userId, string mxcUri, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, V3 + "profile/" + Esc(userId) + "/avatar_url", userId, new JsonObject { ["avatar_url"] = mxcUri }, true, ct);

    /// <summary>Joins by room id or alias; returns the room id.</summary>
    public async Task<string> JoinAsync(string roomIdOrAlias, string? asUser, CancellationToken ct)
    {
        var body = await SendAsync(HttpMethod.Post, V3 + "join/" + Esc(roomIdOrAlias), asUser, new JsonObject(), true, ct);
        return Str(body, "room_id");
    }

    public Task InviteAsync(string roomId, string userId, string? asUser, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, V3 + "rooms/" + Esc(roomId) + "/invite", asUser, new JsonObject { ["user_id"] = userId }, true, ct);

    public Task LeaveAsync(string roomId, string? asUser, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, V3 + "rooms/" + Esc(roomId) + "/leave", asUser, new JsonObject(), true, ct);

    /// <summary>Sets or clears <paramref name="userId"/>'s typing in a room (as that user: a puppet of the appservice).</summary>
    public Task SetTypingAsync(string roomId, string userId, bool typing, TimeSpan timeout, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, V3 + "rooms/" + Esc(roomId) + "/typing/" + Esc(userId), userId,
            typing ? new JsonObject { ["typing"] = true, ["timeout"] = (long)timeout.TotalMilliseconds } : new JsonObject { ["typing"] = false }, true, ct);

    /// <summary>Sends a room event; the same <paramref name="txnId"/> for the same puppet returns the same event id.</summary>
    public async Task<string> SendEventAsync(string roomId, string eventType, string txnId, JsonObject content, string? asUser,
        DateTimeOffset? timestamp, CancellationToken ct)
    {
        var path = V3 + "rooms/" + Esc(roomId) + "/send/" + Esc(eventType) + "/" + Esc(txnId);
        var body = await SendAsync(HttpMethod.Put, path, asUser, content, true, ct, Ts(timestamp));
        return Str(body, "event_id");
    }

    public async Task<string> RedactAsync(string roomId, string eventId, string txnId, string? reason, string? asUser, CancellationToken ct)
    {
        var content = new JsonObject();
        if (reason is not null)
        {
            content["reason"] = reason;
        }

        var body = await SendAsync(HttpMethod.Put, V3 + "rooms/" + Esc(roomId) + "/redact/" + Esc(eventId) + "/" + Esc(txnId), asUser, content, true, ct);
        return Str(body, "event_id");
    }

    /// <summary>Creates a room (<c>POST /createRoom</c>) as <paramref name="asUser"/>; returns its id.</summary>
    public async Task<string> CreateRoomAsync(JsonObject request, string? asUser, CancellationToken ct)
    {
        var body = await SendAsync(HttpMethod.Post, V3 + "createRoom", asUser, request, true, ct);
        return Str(body, "room_id");
    }

    /// <summary>A user's global account data of one type; null when none is set (404 <c>M_NOT_FOUND</c>).</summary>
    public async Task<JsonObject?> GetAccountDataAsync(string userId, string type, CancellationToken ct)
    {
        try
        {
            return await SendAsync(HttpMethod.Get, V3 + "user/" + Esc(userId) + "/account_data/" + Esc(type), userId, null, true, ct);
        }
        catch (MatrixApiException ex) when (ex.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public Task SetAccountDataAsync(string userId, string type, JsonObject content, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, V3 + "user/" + Esc(userId) + "/account_data/" + Esc(type), userId, content, true, ct);

    /// <summary>Resolves an alias through the room directory.</summary>
    public async Task<string> ResolveAliasAsync(string alias, CancellationToken ct)
    {
        var body = await SendAsync(HttpMethod.Get, V3 + "directory/room/" + Esc(alias), null, null, true, ct);
        return Str(body, "room_id");
    }

    /// <summary>The current state events of a room (<c>GET /rooms/{roomId}/state</c>), read by a member.</summary>
    public async Task<JsonArray> GetStateAsync(string roomId, string? asUser, CancellationToken ct)
    {
        using var request = Build(HttpMethod.Get, V3 + "rooms/" + Esc(roomId) + "/state", asUser, true, null);
        return await ExecuteArrayAsync(request, ct);
    }

    public async Task<IReadOnlyDictionary<string, string?>> GetJoinedMembersAsync(string roomId, string? asUser, CancellationToken ct)
    {
        var body = await SendAsync(HttpMethod.Get, V3 + "rooms/" + Esc(roomId) + "/joined_members", asUser, null, true, ct);
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (body["joined"] is JsonObject joined)
        {
            foreach (var (userId, member) in joined)
            {
                result[userId] = member?["display_name"]?.GetValue<string>();
            }
        }

        return result;
    }

    /// <summary>Asks the homeserver to ping this appservice (spec v1.7). Older homeservers answer M_UNRECOGNIZED.</summary>
    public async Task<TimeSpan> PingAsync(string appserviceId, string transactionId, CancellationToken ct)
    {
        var body = await SendAsync(HttpMethod.Post, "_matrix/client/v1/appservice/" + Esc(appserviceId) + "/ping", null,
            new JsonObject { ["transaction_id"] = transactionId }, true, ct);
        return TimeSpan.FromMilliseconds(body["duration_ms"]?.GetValue<double>() ?? 0);
    }

    public Task<string> UploadAsync(byte[] data, string contentType, string? fileName, string? asUser, CancellationToken ct) =>
        UploadAsync(new ByteArrayContent(data), contentType, fileName, asUser, ct);

    /// <summary>Uploads <paramref name="content"/> (its length known) to the media repository as <paramref name="asUser"/>; the mxc URI.</summary>
    public async Task<string> UploadAsync(HttpContent content, string contentType, string? fileName, string? asUser, CancellationToken ct)
    {
        var query = fileName is null ? null : "filename=" + Uri.EscapeDataString(fileName);
        using var request = Build(HttpMethod.Post, "_matrix/media/v3/upload", asUser, true, query);
        request.Content = content;
        request.Content.Headers.ContentType = MediaTypeHeaderValue.TryParse(contentType, out var type) ? type : new MediaTypeHeaderValue("application/octet-stream");
        var body = await ExecuteAsync(request, ct);
        return Str(body, "content_uri");
    }

    /// <summary>
    /// Opens <c>mxc://<paramref name="serverName"/>/<paramref name="mediaId"/></c> through authenticated media
    /// (<c>/_matrix/client/v1/media/download</c>, spec v1.11) with the appservice token; a homeserver that does not know
    /// that endpoint (404 or 405 with <c>M_UNRECOGNIZED</c>, or without a Matrix error body) is asked on the legacy
    /// <c>/_matrix/media/v3/download</c>, and remembered as such. The response is returned with its body unread.
    /// </summary>
    public async Task<HttpResponseMessage> OpenMediaAsync(string serverName, string mediaId, CancellationToken ct)
    {
        var path = Esc(serverName) + "/" + Esc(mediaId);
        if (!_legacyMediaOnly)
        {
            using var request = Build(HttpMethod.Get, "_matrix/client/v1/media/download/" + path, null, true, null);
            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (response.IsSuccessStatusCode)
            {
                return response;
            }
            var error = await ErrorOfAsync(response, ct);
            response.Dispose();
            if (!IsUnknownEndpoint(error))
            {
                throw error;
            }
            _legacyMediaOnly = true;
        }

        // The legacy path takes the token too: servers that still serve it ignore it, and it never goes in the URL.
        using var legacy = Build(HttpMethod.Get, "_matrix/media/v3/download/" + path, null, true, null);
        var old = await http.SendAsync(legacy, HttpCompletionOption.ResponseHeadersRead, ct);
        if (old.IsSuccessStatusCode)
        {
            return old;
        }
        using (old)
        {
            throw await ErrorOfAsync(old, ct);
        }
    }

    /// <summary>Set once the homeserver has shown it predates authenticated media.</summary>
    private volatile bool _legacyMediaOnly;

    private static bool IsUnknownEndpoint(MatrixApiException e) =>
        e.Status is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed && e.ErrCode is "M_UNRECOGNIZED" or NoErrCode;

    /// <summary>The errcode given to an error answer without a Matrix error body (a server or proxy that does not know the path).</summary>
    private const string NoErrCode = "";

    private async Task<JsonObject> SendAsync(HttpMethod method, string path, string? asUser, JsonObject? content, bool authenticated,
        CancellationToken ct, string? extraQuery = null)
    {
        using var request = Build(method, path, asUser, authenticated, extraQuery);
        if (content is not null)
        {
            request.Content = new StringContent(content.ToJsonString(), Encoding.UTF8, "application/json");
        }

        return await ExecuteAsync(request, ct);
    }

    private HttpRequestMessage Build(HttpMethod method, string path, string? asUser, bool authenticated, string? extraQuery)
    {
        var query = new List<string>();
        if (asUser is not null)
        {
            query.Add("user_id=" + Uri.EscapeDataString(asUser));
        }

        if (extraQuery is not null)
        {
            query.Add(extraQuery);
        }

        var relative = query.Count == 0 ? path : path + "?" + string.Join('&', query);
        var request = new HttpRequestMessage(method, new Uri(Homeserver, relative));
        if (authenticated)
        {
            // The header, never the query string, so the token stays out of access logs.
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", asToken);
        }

        return request;
    }

    private static async Task<MatrixApiException> ErrorOfAsync(HttpResponseMessage response, CancellationToken ct)
    {
        JsonObject? body = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            body = text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            // Not a Matrix error body.
        }
        var errCode = body?["errcode"] is JsonValue code && code.TryGetValue(out string? c) ? c : NoErrCode;
        var error = body?["error"] is JsonValue message && message.TryGetValue(out string? m) ? m : response.ReasonPhrase ?? "error";
        return new MatrixApiException(response.StatusCode, errCode, error);
    }

    private async Task<JsonObject> ExecuteAsync(HttpRequestMessage request, CancellationToken ct) =>
        await ExecuteNodeAsync(request, ct) as JsonObject ?? throw new MatrixApiException(HttpStatusCode.BadGateway, "M_NOT_JSON", "homeserver answered with no JSON object");

    private async Task<JsonArray> ExecuteArrayAsync(HttpRequestMessage request, CancellationToken ct) =>
        await ExecuteNodeAsync(request, ct) as JsonArray ?? throw new MatrixApiException(HttpStatusCode.BadGateway, "M_NOT_JSON", "homeserver answered with no JSON array");

    private async Task<JsonNode?> ExecuteNodeAsync(HttpRequestMessage request, CancellationToken ct)
    {
        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        JsonNode? node = null;
        try
        {
            node = text.Length == 0 ? new JsonObject() : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            // Non-JSON error pages from proxies: handled below by status.
        }

        if (response.IsSuccessStatusCode)
        {
            return node ?? throw new MatrixApiException(response.StatusCode, "M_NOT_JSON", "homeserver answered with a non-JSON body");
        }

        var body = node as JsonObject;

        var errCode = body?["errcode"]?.GetValue<string>() ?? "M_UNKNOWN";
        var error = body?["error"]?.GetValue<string>() ?? response.ReasonPhrase ?? "error";
        TimeSpan? retryAfter = null;
        if (body?["retry_after_ms"] is JsonValue ms && ms.TryGetValue(out long retryMs))
        {
            retryAfter = TimeSpan.FromMilliseconds(retryMs);
        }
        else if (response.Headers.RetryAfter is { } header)
        {
            retryAfter = header.Delta ?? (header.Date - DateTimeOffset.UtcNow);
        }

        throw new MatrixApiException(response.StatusCode, errCode, error, retryAfter);
    }

    private static string? Ts(DateTimeOffset? timestamp) =>
        timestamp is { } t ? "ts=" + t.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) : null;

    private static string Esc(string segment) => Uri.EscapeDataString(segment);

    private static string Str(JsonObject body, string name) =>
        body[name]?.GetValue<string>() ?? throw new MatrixApiException(HttpStatusCode.BadGateway, "M_BAD_JSON", $"response lacks '{name}'");
}
