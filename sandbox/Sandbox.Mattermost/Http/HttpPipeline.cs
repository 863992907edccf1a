using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sandbox.Mattermost.Model;

namespace Sandbox.Mattermost.Http;

/// <summary>What every API request goes through: the server's headers, rate limiting, the token lookup and AppError bodies.</summary>
internal sealed class HttpPipeline(SandboxState state, RateLimiter limiter)
{
    private const string ActorKey = "mm.actor";
    private const string SessionKey = "mm.session";
    private const string RequestIdKey = "mm.request_id";

    public string VersionId => $"{state.Settings.ServerVersion}.12345.sandbox0config0hash.false";

    public async Task InvokeAsync(HttpContext ctx, RequestDelegate next)
    {
        var requestId = MmIds.NewId();
        ctx.Items[RequestIdKey] = requestId;
        var headers = ctx.Response.Headers;
        headers["X-Request-Id"] = requestId;
        headers["X-Version-Id"] = VersionId;
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        if (HttpMethods.IsGet(ctx.Request.Method))
        {
            headers.Expires = "0";
        }

        var auth = state.Authenticate(ExtractToken(ctx.Request));
        if (auth is { } a)
        {
            ctx.Items[ActorKey] = a.User;
            ctx.Items[SessionKey] = a.Session;
        }

        var isWebSocket = ctx.Request.Path.StartsWithSegments("/api/v4/websocket", StringComparison.Ordinal);
        if (state.Settings.ResponseDelay > TimeSpan.Zero && !isWebSocket)
        {
            await Task.Delay(state.Settings.ResponseDelay, ctx.RequestAborted);
        }

        if (state.Settings.RateLimitEnable && !isWebSocket)
        {
            var key = state.Settings.RateLimitVaryByUser && auth is { } who ? "user:" + who.User.Id : "addr:" + ctx.Connection.RemoteIpAddress;
            var d = limiter.Check(key, state.Settings.RateLimitPerSec, state.Settings.RateLimitMaxBurst);
            headers["X-RateLimit-Limit"] = d.Limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
            headers["X-RateLimit-Remaining"] = d.Remaining.ToString(System.Globalization.CultureInfo.InvariantCulture);
            headers["X-RateLimit-Reset"] = d.ResetSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (d.Limited)
            {
                // Go's http.Error: text/plain, not an AppError.
                headers.RetryAfter = d.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                ctx.Response.StatusCode = 429;
                ctx.Response.ContentType = "text/plain; charset=utf-8";
                await ctx.Response.WriteAsync("limit exceeded\n", ctx.RequestAborted);
                return;
            }
        }

        try
        {
            CheckLimits(ctx.Request);
            await next(ctx);
        }
        catch (MmApiException e)
        {
            await WriteErrorAsync(ctx, e);
        }
        catch (JsonException)
        {
            await WriteErrorAsync(ctx, MmApiException.InvalidBodyParam("body"));
        }
        catch (InvalidOperationException e) when (!ctx.Response.HasStarted)
        {
            await WriteErrorAsync(ctx, new MmApiException(500, "api.context.unknown.app_error", "An unexpected error occurred.", e.Message));
        }
    }

    /// <summary>ServiceSettings.MaximumURLLength (2048) and MaximumPayloadSizeBytes (300000, file uploads excepted).</summary>
    private static void CheckLimits(HttpRequest request)
    {
        var urlLength = request.Path.Value?.Length + request.QueryString.Value?.Length ?? 0;
        if (urlLength > 2048)
        {
            throw new MmApiException(414, "basic_security_check.url.too_long_error", "URL is too long.");
        }
        var isFileUpload = request.Path.StartsWithSegments("/api/v4/files", StringComparison.Ordinal)
            || request.Path.Value?.EndsWith("/image", StringComparison.Ordinal) == true;
        if (!isFileUpload && request.ContentLength > 300000)
        {
            throw new MmApiException(413, "api.context.request_body_too_large.app_error", "The request body is too large.");
        }
    }

    /// <summary>The server's order: MMAUTHTOKEN cookie, then "BEARER " in any case, then "token ".</summary>
    internal static string? ExtractToken(HttpRequest request)
    {
        if (request.Cookies.TryGetValue("MMAUTHTOKEN", out var cookie) && cookie.Length > 0)
        {
            return cookie;
        }
        var header = request.Headers.Authorization.ToString();
        if (header.Length > 6 && header[..6].Equals("BEARER", StringComparison.OrdinalIgnoreCase))
        {
            return header[7..].Trim();
        }
        if (header.StartsWith("token ", StringComparison.OrdinalIgnoreCase))
        {
            return header[6..].Trim();
        }
        return null;
    }

    public static UserRecord Actor(HttpContext ctx) =>
        ctx.Items[ActorKey] as UserRecord ?? throw MmApiException.SessionExpired();

    public static UserRecord? TryActor(HttpContext ctx) => ctx.Items[ActorKey] as UserRecord;

    public static SessionRecord? Session(HttpContext ctx) => ctx.Items[SessionKey] as SessionRecord;

    public static Task WriteJsonAsync(HttpContext ctx, int status, JsonNode? body)
    {
        ctx.Response.StatusCode = status;
        // Exactly this value: the official JS client compares the header to "application/json" verbatim.
        ctx.Response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(body?.ToJsonString() ?? "null");
        return ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted).AsTask();
    }

    public static Task WriteOkAsync(HttpContext ctx) => WriteJsonAsync(ctx, 200, new JsonObject { ["status"] = "OK" });

    public static async Task WriteErrorAsync(HttpContext ctx, MmApiException e)
    {
        if (ctx.Response.HasStarted)
        {
            return;
        }
        var body = new JsonObject
        {
            ["id"] = e.ErrorId,
            ["message"] = e.Message,
            ["detailed_error"] = "",
            ["request_id"] = ctx.Items[RequestIdKey] as string ?? "",
            ["status_code"] = e.StatusCode,
        };
        await WriteJsonAsync(ctx, e.StatusCode, body);
    }

    public static async Task<JsonObject> ReadObjectAsync(HttpContext ctx, string name = "body")
    {
        var node = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
        return node as JsonObject ?? throw MmApiException.InvalidBodyParam(name);
    }

    public static string Route(HttpContext ctx, string name) => ctx.Request.RouteValues[name] as string ?? "";

    /// <summary>Resolves "me" in a user-id path segment.</summary>
    public static string UserIdParam(HttpContext ctx, string name = "user_id")
    {
        var id = Route(ctx, name);
        if (id == "me")
        {
            return Actor(ctx).Id;
        }
        return MmIds.IsValid(id) ? id : throw MmApiException.InvalidParam(name);
    }

    public static string IdParam(HttpContext ctx, string name)
    {
        var id = Route(ctx, name);
        return MmIds.IsValid(id) ? id : throw MmApiException.InvalidParam(name);
    }
}
