using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Bridge.Mattermost.Api;

/// <summary>
/// Typed REST v4 client. Every call names the token it acts with (the admin identity or a puppet). Transient failures
/// and short 429s are retried here; every retried write is idempotent on the server (PATCH/DELETE/reactions/members)
/// or carries a pending_post_id, so a retry never double-posts.
/// </summary>
internal sealed class MattermostApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly ILogger _logger;
    private readonly TimeSpan _maxInlineWait;

    public MattermostApiClient(MattermostOptions options, ILogger logger, HttpMessageHandler? handler = null, TimeProvider? time = null)
    {
        _logger = logger;
        _maxInlineWait = options.MaxInlineRateLimitWait;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            BaseAddress = options.BaseUri,
            Timeout = options.RequestTimeout,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("bridge-mattermost", "1.0"));
        _pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time ?? TimeProvider.System }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = 4,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(300),
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { StatusCode: HttpStatusCode.TooManyRequests } r ? RateLimitDelay(r) : null),
                OnRetry = args =>
                {
                    _logger.LogDebug(MattermostLog.HttpRetry, "Retrying Mattermost request after {Delay} ({Status})", args.RetryDelay,
                        args.Outcome.Result?.StatusCode.ToString() ?? args.Outcome.Exception?.GetType().Name);
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public Uri BaseAddress => _http.BaseAddress!;

    private bool ShouldRetry(Outcome<HttpResponseMessage> outcome)
    {
        if (outcome.Exception is not null)
        {
            return outcome.Exception is HttpRequestException or TaskCanceledException { InnerException: TimeoutException };
        }
        var r = outcome.Result!;
        return r.StatusCode switch
        {
            HttpStatusCode.TooManyRequests => (RateLimitDelay(r) ?? TimeSpan.Zero) <= _maxInlineWait,
            HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout or HttpStatusCode.RequestTimeout => true,
            _ => false,
        };
    }

    /// <summary>Retry-After first, then X-RateLimit-Reset (seconds until the bucket refills), as the server sends them.</summary>
    internal static TimeSpan? RateLimitDelay(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is { } ra)
        {
            if (ra.Delta is { } delta)
            {
                return delta;
            }
            if (ra.Date is { } date)
            {
                return date - DateTimeOffset.UtcNow;
            }
        }
        if (response.Headers.TryGetValues("X-RateLimit-Reset", out var values) &&
            int.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(Math.Max(1, seconds));
        }
        return null;
    }

    // ------------------------------------------------------------------ core send

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> build, string? token, CancellationToken ct)
    {
        var response = await _pipeline.ExecuteAsync(async c =>
        {
            using var request = build();
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            return await _http.SendAsync(request, c);
        }, ct);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            throw await ToExceptionAsync(response, ct);
        }
    }

    private static async Task<MattermostApiException> ToExceptionAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            return new MattermostApiException(response.StatusCode, "rate_limited", text.Trim(), RateLimitDelay(response));
        }
        try
        {
            var err = MmJson.Read<MmAppError>(text);
            return new MattermostApiException(response.StatusCode, err?.Id ?? "", err?.Message ?? text);
        }
        catch (JsonException)
        {
            return new MattermostApiException(response.StatusCode, "", text.Length > 200 ? text[..200] : text);
        }
    }

    private async Task<T> GetJsonAsync<T>(string path, string token, CancellationToken ct)
    {
        using var r = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, path), token, ct);
        return await ReadAsync<T>(r, ct);
    }

    private async Task<T> SendJsonAsync<TBody, T>(HttpMethod method, string path, TBody body, string token, CancellationToken ct)
    {
        using var r = await SendAsync(() => new HttpRequestMessage(method, path) { Content = Body(body) }, token, ct);
        return await ReadAsync<T>(r, ct);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage r, CancellationToken ct) =>
        await MmJson.ReadAsync<T>(r.Content, ct) ?? throw new MattermostApiException("empty response body");

    /// <summary>A JSON request body, written by <see cref="MmJsonContext"/>.</summary>
    private static JsonContent Body<TBody>(TBody body) => JsonContent.Create(body, MmJson.Info<TBody>());

    private static string E(string segment) => Uri.EscapeDataString(segment);

    // ------------------------------------------------------------------ endpoints

    public async Task PingAsync(CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, "api/v4/system/ping"), null, ct);
    }

    public Task<MmUser> GetMeAsync(string token, CancellationToken ct) => GetJsonAsync<MmUser>("api/v4/users/me", token, ct);

    public Task<MmUser> GetUserAsync(string userId, string token, CancellationToken ct) => GetJsonAsync<MmUser>($"api/v4/users/{E(userId)}", token, ct);

    public async Task<MmUser?> FindUserByUsernameAsync(string username, string token, CancellationToken ct)
    {
        try
        {
            return await GetJsonAsync<MmUser>($"api/v4/users/username/{E(username)}", token, ct);
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public Task<Dictionary<string, string>> GetClientConfigAsync(string token, CancellationToken ct) =>
        GetJsonAsync<Dictionary<string, string>>("api/v4/config/client?format=old", token, ct);

    public Task<MmTeam> GetTeamByNameAsync(string name, string token, CancellationToken ct) => GetJsonAsync<MmTeam>($"api/v4/teams/name/{E(name)}", token, ct);

    public Task<MmChannel> GetChannelByNameAsync(string teamId, string name, string token, CancellationToken ct) =>
        GetJsonAsync<MmChannel>($"api/v4/teams/{E(teamId)}/channels/name/{E(name)}", token, ct);

    /// <summary><c>POST /channels/direct</c>: the DM channel of two users (made once, then returned again).</summary>
    public Task<MmChannel> CreateDirectChannelAsync(string userA, string userB, string token, CancellationToken ct) =>
        SendJsonAsync<string[], MmChannel>(HttpMethod.Post, "api/v4/channels/direct", [userA, userB], token, ct);

    public Task<MmChannel> GetChannelAsync(string channelId, string token, CancellationToken ct) => GetJsonAsync<MmChannel>($"api/v4/channels/{E(channelId)}", token, ct);

    public Task<MmUser> CreateUserAsync(MmNewUser body, string token, CancellationToken ct) => SendJsonAsync<MmNewUser, MmUser>(HttpMethod.Post, "api/v4/users", body, token, ct);

    public Task<MmUser> PatchUserAsync(string userId, MmUserPatch patch, string token, CancellationToken ct) =>
        SendJsonAsync<MmUserPatch, MmUser>(HttpMethod.Put, $"api/v4/users/{E(userId)}/patch", patch, token, ct);

    /// <summary><c>POST /users/{id}/typing</c>: the server tells the channel that the user is typing (the user or manage_system).</summary>
    public async Task PublishTypingAsync(string userId, string channelId, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, $"api/v4/users/{E(userId)}/typing")
        {
            Content = Body(new MmTyping(channelId, "")),
        }, token, ct);
    }

    public async Task VerifyEmailAsync(string userId, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, $"api/v4/users/{E(userId)}/email/verify/member"), token, ct);
    }

    public async Task DemoteToGuestAsync(string userId, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, $"api/v4/users/{E(userId)}/demote"), token, ct);
    }

    /// <summary>Deactivates a user (<c>DELETE /users/{id}</c>: the account stays, sessions and tokens stop working).</summary>
    public async Task DeactivateUserAsync(string userId, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, $"api/v4/users/{E(userId)}"), token, ct);
    }

    public Task<MmAccessToken> CreateAccessTokenAsync(string userId, string description, string token, CancellationToken ct) =>
        SendJsonAsync<MmTokenRequest, MmAccessToken>(HttpMethod.Post, $"api/v4/users/{E(userId)}/tokens", new MmTokenRequest(description), token, ct);

    public Task<MmBot> CreateBotAsync(string username, string displayName, string token, CancellationToken ct) =>
        SendJsonAsync<MmNewBot, MmBot>(HttpMethod.Post, "api/v4/bots", new MmNewBot(username, displayName, "Bridge relay"), token, ct);

    public async Task AddTeamMemberAsync(string teamId, string userId, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, $"api/v4/teams/{E(teamId)}/members")
        {
            Content = Body(new MmTeamMember(teamId, userId)),
        }, token, ct);
    }

    public async Task AddChannelMemberAsync(string channelId, string userId, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, $"api/v4/channels/{E(channelId)}/members")
        {
            Content = Body(new MmChannelMember(userId)),
        }, token, ct);
    }

    public async Task RemoveChannelMemberAsync(string channelId, string userId, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, $"api/v4/channels/{E(channelId)}/members/{E(userId)}"), token, ct);
    }

    public async Task<bool> IsChannelMemberAsync(string channelId, string userId, string token, CancellationToken ct)
    {
        try
        {
            using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"api/v4/channels/{E(channelId)}/members/{E(userId)}"), token, ct);
            return true;
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public Task<MmPost> CreatePostAsync(JsonObject post, string token, CancellationToken ct) =>
        SendJsonAsync<JsonObject, MmPost>(HttpMethod.Post, "api/v4/posts", post, token, ct);

    public Task<MmPost> GetPostAsync(string postId, string token, CancellationToken ct) => GetJsonAsync<MmPost>($"api/v4/posts/{E(postId)}", token, ct);

    public Task<MmPost> PatchPostAsync(string postId, JsonObject patch, string token, CancellationToken ct) =>
        SendJsonAsync<JsonObject, MmPost>(HttpMethod.Put, $"api/v4/posts/{E(postId)}/patch", patch, token, ct);

    public async Task DeletePostAsync(string postId, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, $"api/v4/posts/{E(postId)}"), token, ct);
    }

    /// <summary>Everything changed in a channel since <paramref name="since"/> (ms), deleted posts included.</summary>
    public Task<MmPostList> GetPostsSinceAsync(string channelId, long since, string token, CancellationToken ct) =>
        GetJsonAsync<MmPostList>($"api/v4/channels/{E(channelId)}/posts?since={since.ToString(CultureInfo.InvariantCulture)}", token, ct);

    /// <summary>One page of a channel's posts, newest first (deleted posts left out); pages count from 0.</summary>
    public Task<MmPostList> GetPostsPageAsync(string channelId, int page, int perPage, string token, CancellationToken ct) =>
        GetJsonAsync<MmPostList>($"api/v4/channels/{E(channelId)}/posts?page={page.ToString(CultureInfo.InvariantCulture)}&per_page={perPage.ToString(CultureInfo.InvariantCulture)}", token, ct);

    public async Task SaveReactionAsync(string userId, string postId, string emojiName, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, "api/v4/reactions")
        {
            Content = Body(new MmReactionRequest(userId, postId, emojiName)),
        }, token, ct);
    }

    /// <summary>Takes back <paramref name="userId"/>'s reaction; only that user (or one allowed to remove others' reactions) may.</summary>
    public async Task DeleteReactionAsync(string userId, string postId, string emojiName, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, $"api/v4/users/{E(userId)}/posts/{E(postId)}/reactions/{E(emojiName)}"), token, ct);
    }

    /// <summary>A message only one user sees (needs create_post_ephemeral: system admins have it).</summary>
    public async Task CreateEphemeralPostAsync(string userId, string channelId, string message, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, "api/v4/posts/ephemeral")
        {
            Content = Body(new MmEphemeralPost(userId, new MmEphemeralMessage(channelId, message))),
        }, token, ct);
    }

    /// <summary>Uploads a file as <paramref name="token"/>'s user; <paramref name="open"/> gives a fresh stream per attempt.</summary>
    public async Task<MmFileInfo> UploadFileAsync(string channelId, string fileName, string contentType, Func<Stream> open, string token, CancellationToken ct)
    {
        using var r = await SendAsync(() =>
        {
            var form = new MultipartFormDataContent { { new StringContent(channelId), "channel_id" } };
            var part = new StreamContent(open());
            part.Headers.ContentType = MediaTypeHeaderValue.TryParse(contentType, out var mt) ? mt : new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "files", fileName);
            return new HttpRequestMessage(HttpMethod.Post, "api/v4/files") { Content = form };
        }, token, ct);
        var body = await MmJson.ReadAsync<JsonObject>(r.Content, ct);
        // Only an array holding an object is a file: any other shape is an answer without one, not an exception here.
        return MmJson.Guard(() => body?["file_infos"] is JsonArray { Count: > 0 } infos && infos[0] is JsonObject first ? first.Deserialize(MmJson.Info<MmFileInfo>()) : null)
            ?? throw new MattermostApiException("upload returned no file");
    }

    /// <summary><c>DELETE /users/{id}/image</c>: back to the picture the server draws (last_picture_update 0).</summary>
    public async Task ResetProfileImageAsync(string userId, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, $"api/v4/users/{E(userId)}/image"), token, ct);
    }

    public async Task SetProfileImageAsync(string userId, byte[] image, string contentType, string fileName, string token, CancellationToken ct)
    {
        using var _ = await SendAsync(() =>
        {
            var part = new ByteArrayContent(image);
            part.Headers.ContentType = new MediaTypeHeaderValue(contentType);
            var form = new MultipartFormDataContent { { part, "image", fileName } };
            return new HttpRequestMessage(HttpMethod.Post, $"api/v4/users/{E(userId)}/image") { Content = form };
        }, token, ct);
    }

    /// <summary>
    /// Opens file <paramref name="fileId"/> of this server with <paramref name="token"/> (the server checks that its
    /// user may read the channel), headers read and the body left to stream.
    /// </summary>
    public Task<HttpResponseMessage> OpenFileAsync(string fileId, string token, CancellationToken ct) => OpenAsync($"api/v4/files/{E(fileId)}", token, ct);

    /// <summary>Opens user <paramref name="userId"/>'s profile image (<c>GET /users/{id}/image</c>) with <paramref name="token"/>.</summary>
    public Task<HttpResponseMessage> OpenUserImageAsync(string userId, string token, CancellationToken ct) => OpenAsync($"api/v4/users/{E(userId)}/image", token, ct);

    private async Task<HttpResponseMessage> OpenAsync(string path, string token, CancellationToken ct)
    {
        var response = await _pipeline.ExecuteAsync(async c =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, c);
        }, ct);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            throw await ToExceptionAsync(response, ct);
        }
    }

    public void Dispose() => _http.Dispose();
}
