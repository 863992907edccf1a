using System.Globalization;
using Bridge.Core.Audit;
using Bridge.Host.Admin.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Bridge.Host.Admin.Console;

/// <summary>
/// The web console: the page at <c>/</c> (embedded files under <c>/console/</c>) and the read-only JSON it needs beyond
/// the admin API (<c>/api/console/…</c>: live network state, links with the policy per destination, the latest audit
/// records, audit verification). The page sends its bearer token in the Authorization header only, never a cookie,
/// so another site cannot make a logged-in browser act (no CSRF).
/// </summary>
internal static class ConsoleEndpoints
{
    public static RouteGroupBuilder MapConsole(this WebApplication app, ConsoleSources sources)
    {
        var assets = new ConsoleAssets();
        var latest = new LatestAudit(sources.Store);
        var verifying = new SemaphoreSlim(1, 1);

        // The page itself is public (it holds no data and asks for the token), so it is served before the token
        // check; everything it shows comes from the JSON endpoints, which need a token like the rest of the API.
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            var isRead = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method);
            if (isRead && request.Path == "/console/access.json")
            {
                // Whether to ask for a token before the first request: saves a refused (and audited) request per visit.
                ConsoleHeaders.Apply(context);
                context.Response.Headers.CacheControl = "no-store";
                await context.Response.WriteAsJsonAsync(new ConsoleAccessView(sources.TokenRequired), AdminJsonContext.Default.ConsoleAccessView, cancellationToken: context.RequestAborted);
                return;
            }

            if (isRead && AssetName(request.Path) is { } name)
            {
                await assets.Serve(context, name).ExecuteAsync(context);
                return;
            }

            await next(context);
        });

        var api = app.MapGroup("/api/console");
        api.AddEndpointFilter(async (context, next) =>
        {
            ConsoleHeaders.Apply(context.HttpContext);
            context.HttpContext.Response.Headers.CacheControl = "no-store";
            return await next(context);
        });

        api.MapGet("/overview", async (CancellationToken ct) =>
        {
            var policy = sources.Policy;
            var links = sources.Topology.Links.Select(l => new OverviewLinkView(
                l.Id,
                l.Source == Bridge.Core.Configuration.LinkSource.File ? "file" : "api",
                l.Paused,
                [.. l.Endpoints.Select(e => new EndpointView(e.NetworkId, e.ChannelId, l.Languages.GetValueOrDefault(e)))],
                DestinationPolicyView.Describe(sources, l.Id, [.. l.Endpoints.Select(e => e.NetworkId)]))).ToList();
            return Results.Json(
                new OverviewView(InstanceView.Of(sources.Role), sources.Time.GetUtcNow(), await NetworkStateView.ReadAsync(sources, ct), policy?.Fingerprint, links),
                AdminJsonContext.Default.OverviewView);
        });

        // For links the file does not hold (created over the API): the policy toward each of the named networks.
        api.MapGet("/policy", (string? link, string? networks) =>
        {
            if (string.IsNullOrWhiteSpace(link))
            {
                return Error("link", "give the link id: ?link=ID&networks=a,b");
            }

            var names = (networks ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (names.Length == 0)
            {
                return Error("networks", "give the link's networks, comma separated");
            }

            var unknown = names.FirstOrDefault(n => !sources.Topology.TryGetNetwork(n, out _));
            return unknown is not null
                ? Error("networks", $"unknown network '{unknown}'")
                : Results.Json(new PolicyAnswerView(link, DestinationPolicyView.Describe(sources, link, names)), AdminJsonContext.Default.PolicyAnswerView);
        });

        api.MapGet("/audit", async (string? link, string? network, string? decision, string? limit, CancellationToken ct) =>
        {
            var count = 50;
            if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1 || count > AuditFilter.MaxLimit))
            {
                return Error("limit", $"limit must be a whole number from 1 to {AuditFilter.MaxLimit}");
            }

            var filter = new AuditFilter(Blank(link), Blank(network), Blank(decision), count);
            var page = await latest.ReadAsync(filter, ct);
            return Results.Json(AuditPageView.Of(page), AdminJsonContext.Default.AuditPageView);
        });

        // A read (viewers, e.g. auditors, may verify); it reads the whole trail, so one runs at a time.
        api.MapGet("/audit/verify", async (CancellationToken ct) =>
        {
            if (!await verifying.WaitAsync(0, ct))
            {
                return ApiError.Result(StatusCodes.Status409Conflict, "a verification is already running; try again when it has finished");
            }

            try
            {
                var report = await new AuditVerifier(sources.Store, keys: sources.AuditKeys).VerifyAsync(ct);
                // Same rule as `bridge audit verify`: keyed records whose MACs were not checked are not "ok".
                var ok = report.Ok && report.UnverifiedKeyed == 0;
                var problem = report.Ok && report.UnverifiedKeyed > 0
                    ? $"the trail is keyed from record {report.KeyedFrom} but no audit key is configured: the MACs of {report.UnverifiedKeyed} records were not checked"
                    : report.Verification.Problem;
                if (ok)
                {
                    sources.Logger.LogInformation(ConsoleLog.AuditVerified, "Audit trail verified from the console: {Records} records, head {Head}", report.Verification.RecordsChecked, report.Head);
                }
                else
                {
                    sources.Logger.LogWarning(ConsoleLog.AuditBroken, "Audit verification from the console failed at record {Record}: {Problem}", report.Verification.FirstBrokenSequence, problem);
                }

                return Results.Json(
                    new AuditVerifyView(ok, report.Verification.RecordsChecked, report.HeadSequence == 0 ? null : report.Head, report.KeyedFrom, report.Verification.FirstBrokenSequence, problem),
                    AdminJsonContext.Default.AuditVerifyView);
            }
            finally
            {
                verifying.Release();
            }
        });

        return api;
    }

    /// <summary>The embedded file a path asks for: <c>/</c> is the page, <c>/console/NAME</c> its files; null for anything else.</summary>
    private static string? AssetName(PathString path)
    {
        if (path == "/")
        {
            return "index.html";
        }

        return path.StartsWithSegments("/console", StringComparison.Ordinal, out var rest) && rest.Value is { Length: > 1 } file && file.IndexOf('/', 1) < 0
            ? file[1..]
            : null;
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static IResult Error(string field, string message) => ApiError.Result(StatusCodes.Status400BadRequest, message, field);
}
