using System.Net;
using Bridge.Core.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Bridge.Host.Admin.Access;

/// <summary>
/// Decides who may do what on the admin API, before any endpoint runs.
/// <list type="bullet">
/// <item>A token is read from the <c>Authorization: Bearer</c> header only, never from a cookie or the query string:
/// a browser never adds that header by itself, so a cross-site form or link cannot act with an operator's rights (no CSRF).</item>
/// <item>Reads (GET, HEAD) need <see cref="AdminRole.Viewer"/>, everything else <see cref="AdminRole.Operator"/>.</item>
/// <item>The probes <c>/healthz</c> and <c>/metrics</c> answer a loopback peer without a token (a local health check or
/// Prometheus agent needs no secret); from elsewhere they need a viewer token like any read.</item>
/// <item>With no token configured (allowed only when the API listens on loopback) a request without a token may read,
/// never change: changes always need an operator token.</item>
/// </list>
/// A missing or unknown token is 401, a token without the role 403; both are logged and written to the audit trail.
/// </summary>
internal sealed class AdminAccess(AdminTokens tokens, IBridgeStore store, ILogger logger, TimeProvider time)
{
    public const string CallerItem = "bridge.admin.caller";
    private static readonly string[] Probes = ["/healthz", "/metrics"];
    private readonly DeniedAuditBudget _budget = new(time);

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var required = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) ? AdminRole.Viewer : AdminRole.Operator;
        var peer = context.Connection.RemoteIpAddress;
        var peerIsLoopback = peer is not null && IPAddress.IsLoopback(peer);
        var isProbe = Probes.Any(p => request.Path.Equals(p, StringComparison.OrdinalIgnoreCase));

        AdminCaller? caller;
        string header = request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            caller = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header[7..].Trim() is { Length: > 0 } presented
                ? tokens.Find(presented)
                : null;
            if (caller is null)
            {
                await DenyAsync(context, StatusCodes.Status401Unauthorized, null, required, "the bearer token is not valid", context.RequestAborted);
                return;
            }
        }
        else if (isProbe && peerIsLoopback && required == AdminRole.Viewer)
        {
            await next(context);
            return;
        }
        else if (tokens.IsEmpty)
        {
            caller = AdminCaller.AnonymousLoopback;
        }
        else
        {
            await DenyAsync(context, StatusCodes.Status401Unauthorized, null, required, "a bearer token is required (Authorization: Bearer <token>)", context.RequestAborted);
            return;
        }

        if (caller.Role < required)
        {
            var why = caller == AdminCaller.AnonymousLoopback
                ? "changes need an operator token and none is configured (admin:tokens)"
                : $"this needs the {Name(required)} role; token '{caller.Name}' is a {Name(caller.Role)}";
            await DenyAsync(context, caller == AdminCaller.AnonymousLoopback ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden,
                caller, required, why, context.RequestAborted);
            return;
        }

        context.Items[CallerItem] = caller;
        await next(context);
    }

    /// <summary>The caller the access check let through (every endpoint after it has one).</summary>
    public static AdminCaller CallerOf(HttpContext context) =>
        context.Items.TryGetValue(CallerItem, out var c) && c is AdminCaller caller ? caller : AdminCaller.AnonymousLoopback;

    public static string Name(AdminRole role) => role.ToString().ToLowerInvariant();

    private async Task DenyAsync(HttpContext context, int status, AdminCaller? caller, AdminRole required, string why, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var target = $"{request.Method} {request.Path}";
        var peer = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var decision = status == StatusCodes.Status401Unauthorized ? "unauthenticated" : "forbidden";
        logger.Log(status == StatusCodes.Status401Unauthorized ? LogLevel.Warning : LogLevel.Warning,
            status == StatusCodes.Status401Unauthorized ? AdminLog.Unauthenticated : AdminLog.Forbidden,
            "Admin API refused {Target} from {Peer} ({Decision}, token {Token}): {Why}", target, peer, decision, caller?.Name ?? "none", why);
        if (_budget.TryTake())
        {
            try
            {
                await store.AppendAuditAsync([AdminAudit.Access(time.GetUtcNow(), decision, caller?.Name ?? "", target, Name(required), peer)], cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(AdminLog.AuditFailed, ex, "Could not write the refused admin request to the audit trail");
            }
        }

        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"bridge-admin\"";
        }

        await ApiError.WriteAsync(context, status, why, field: status == StatusCodes.Status401Unauthorized ? "Authorization" : null);
    }
}

/// <summary>
/// Caps how many refused requests a minute reach the audit trail (a scan of bad tokens must not grow the trail without
/// bound); every refusal is still logged.
/// </summary>
internal sealed class DeniedAuditBudget(TimeProvider time, int perMinute = 120)
{
    private readonly Lock _gate = new();
    private long _minute = -1;
    private int _used;

    public bool TryTake()
    {
        var minute = time.GetUtcNow().ToUnixTimeSeconds() / 60;
        lock (_gate)
        {
            if (minute != _minute)
            {
                _minute = minute;
                _used = 0;
            }

            return ++_used <= perMinute;
        }
    }
}
