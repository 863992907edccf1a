using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Bridge.Matrix.Formatting;

namespace Bridge.Matrix.Appservice;

/// <summary>
/// The HTTP side of the application service: transactions, user/alias queries and ping, on both the current
/// (<c>/_matrix/app/v1/...</c>) and the legacy unprefixed paths. Kestrel with TCP no-delay.
/// </summary>
internal sealed class AppserviceListener(Uri listen, string hsToken, IAppserviceHandler handler, ILoggerFactory loggerFactory) : IAsyncDisposable
{
    private const long MaxBodyBytes = 64L * 1024 * 1024;
    private readonly HsTokenCheck _tokens = new(hsToken);
    private readonly ILogger _logger = loggerFactory.CreateLogger("Bridge.Matrix.Appservice");
    private WebApplication? _app;

    /// <summary>The address actually bound (resolves port 0).</summary>
    public Uri? BoundUrl { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "Bridge.Matrix" });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
            var address = listen.Host is "localhost" ? IPAddress.Loopback
                : listen.Host is "*" or "+" ? IPAddress.Any
                : IPAddress.Parse(listen.Host.Trim('[', ']'));
            k.Listen(address, listen.Port);
        });
        // Nagle's algorithm measurably delayed every transaction acknowledgement (~40 ms) on loopback.
        builder.WebHost.UseSockets(s => s.NoDelay = true);
        builder.Services.AddRouting();
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, EmbeddedLifetime>();
        var app = builder.Build();
        app.Use(UnrecognisedFallbackAsync);
        app.UseRouting();
        foreach (var prefix in new[] { "/_matrix/app/v1", string.Empty })
        {
            app.MapPut(prefix + "/transactions/{txnId}", (HttpContext ctx, string txnId) => TransactionAsync(ctx, txnId));
            app.MapGet(prefix + "/users/{userId}", (HttpContext ctx, string userId) =>
                QueryAsync(ctx, ct => handler.QueryUserAsync(userId, ct)));
            app.MapGet(prefix + "/rooms/{alias}", (HttpContext ctx, string alias) =>
                QueryAsync(ctx, ct => handler.QueryAliasAsync(alias, ct)));
        }

        app.MapPost("/_matrix/app/v1/ping", (HttpContext ctx) => PingAsync(ctx));
        await app.StartAsync(cancellationToken);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BoundUrl = new Uri(bound);
        _app = app;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync(cancellationToken);
            await app.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    private async Task TransactionAsync(HttpContext ctx, string txnId)
    {
        if (!await AuthorisedAsync(ctx))
        {
            return;
        }

        byte[] body;
        using (var buffer = new MemoryStream())
        {
            await ctx.Request.Body.CopyToAsync(buffer, ctx.RequestAborted);
            body = buffer.ToArray();
        }

        var (events, ephemeral, errcode, error) = ParseTransactionParts(body);
        if (events is null)
        {
            await ErrorAsync(ctx, 400, errcode, error);
            return;
        }

        if (ephemeral is null)
        {
            // Typing is never owed: a bad ephemeral section costs only itself, the events are still taken.
            _logger.LogWarning(MatrixLog.EventDropped, "Transaction {TxnId}: dropped its ephemeral section (not an array)", txnId);
        }

        try
        {
            await handler.HandleTransactionAsync(txnId, body, events, ephemeral ?? [], ctx.RequestAborted);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            // Not acknowledged: the homeserver retries the same transaction; nothing was marked as done.
            if (Bridge.Core.Storage.Health.StoreHealth.IsStoreFailure(ex))
            {
                // The store said why, once, at error level (disk full for an hour is not an error per retry).
                _logger.LogWarning(MatrixLog.TransactionFailed, "Transaction {TxnId} not stored ({Error}); the homeserver will retry it", txnId, ex.Message);
            }
            else
            {
                _logger.LogError(MatrixLog.TransactionFailed, ex, "Transaction {TxnId} failed; the homeserver will retry it", txnId);
            }

            await ErrorAsync(ctx, 500, "M_UNKNOWN", "transaction could not be stored; retry");
            return;
        }

        await JsonAsync(ctx, 200, "{}");
    }

    /// <summary>The events of a transaction body, or the Matrix error code and message that refuse it.</summary>
    internal static (JsonArray? Events, string ErrCode, string Error) ParseTransaction(byte[] body)
    {
        var (events, _, errcode, error) = ParseTransactionParts(body);
        return (events, errcode, error);
    }

    /// <summary>The stable transaction key for ephemeral events (spec v1.13) and MSC2409's unstable one (Synapse's).</summary>
    internal static readonly string[] EphemeralKeys = ["ephemeral", "de.sorunome.msc2409.ephemeral"];

    /// <summary>
    /// The events and the ephemeral events (the stable key first, else the unstable one; empty when neither is there,
    /// null when the section is not an array) of a transaction body, or the error code and message that refuse it.
    /// </summary>
    internal static (JsonArray? Events, JsonArray? Ephemeral, string ErrCode, string Error) ParseTransactionParts(byte[] body)
    {
        JsonNode? parsed;
        try
        {
            // A duplicate key is refused here: left in, it would throw on first access, deep in the handler.
            parsed = body.Length == 0 ? null : JsonNode.Parse(JsonStrings.WithoutLoneSurrogates(body), documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            return (null, null, "M_NOT_JSON", "transaction body is not JSON: " + ex.Message);
        }

        if (parsed is not JsonObject obj || (obj["events"] is not null and not JsonArray))
        {
            return (null, null, "M_BAD_JSON", "transaction body must be an object with an 'events' array");
        }

        var section = EphemeralKeys.Select(k => obj[k]).FirstOrDefault(n => n is not null);
        var ephemeral = section is null ? [] : section as JsonArray;
        return (obj["events"] as JsonArray ?? [], ephemeral, "", "");
    }

    private async Task QueryAsync(HttpContext ctx, Func<CancellationToken, Task<bool>> query)
    {
        if (!await AuthorisedAsync(ctx))
        {
            return;
        }

        bool exists;
        try
        {
            exists = await query(ctx.RequestAborted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(MatrixLog.QueryFailed, ex, "Query {Path} failed", ctx.Request.Path);
            exists = false;
        }

        if (exists)
        {
            await JsonAsync(ctx, 200, "{}");
        }
        else
        {
            await ErrorAsync(ctx, 404, "M_NOT_FOUND", "not bridged");
        }
    }

    private async Task PingAsync(HttpContext ctx)
    {
        if (await AuthorisedAsync(ctx))
        {
            await JsonAsync(ctx, 200, "{}");
        }
    }

    private async Task<bool> AuthorisedAsync(HttpContext ctx)
    {
        switch (_tokens.Check(ctx.Request))
        {
            case HsTokenCheck.Outcome.Ok:
                return true;
            case HsTokenCheck.Outcome.Missing:
                await ErrorAsync(ctx, 401, "M_MISSING_TOKEN", "missing hs_token");
                return false;
            default:
                _logger.LogWarning(MatrixLog.BadToken, "Rejected a request to {Path} with a wrong hs_token from {Remote}", ctx.Request.Path, ctx.Connection.RemoteIpAddress);
                await ErrorAsync(ctx, 403, "M_FORBIDDEN", "bad hs_token");
                return false;
        }
    }

    private static async Task UnrecognisedFallbackAsync(HttpContext ctx, RequestDelegate next)
    {
        await next(ctx);
        if (!ctx.Response.HasStarted && ctx.Response.ContentType is null && ctx.Response.StatusCode is 404 or 405)
        {
            await ErrorAsync(ctx, ctx.Response.StatusCode, "M_UNRECOGNIZED", "unrecognized request");
        }
    }

    private static Task ErrorAsync(HttpContext ctx, int status, string errcode, string message) =>
        JsonAsync(ctx, status, new JsonObject { ["errcode"] = errcode, ["error"] = message }.ToJsonString());

    private static async Task JsonAsync(HttpContext ctx, int status, string json)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(json, ctx.RequestAborted);
    }
}
