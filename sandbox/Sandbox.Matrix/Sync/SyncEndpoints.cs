using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sandbox.Matrix.Hosting;
using Sandbox.Matrix.Http;

namespace Sandbox.Matrix.Sync;

/// <summary><c>GET /sync</c> with <c>since</c> and <c>timeout</c> long-polling.</summary>
internal static class SyncEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in EndpointContext.ClientPrefixes)
        {
            app.MapGet(prefix + "/sync", async (HttpContext ctx) =>
            {
                var hs = ctx.Hs();
                var principal = hs.Authenticate(ctx.Request, rateLimited: false);
                var since = Homeserver.ParseSince(ctx.Request.Query["since"].ToString());
                var timeout = TimeSpan.FromMilliseconds(Math.Clamp(ctx.Request.QueryLong("timeout") ?? 0, 0, 120_000));
                var deadline = DateTime.UtcNow + timeout;
                while (true)
                {
                    // Take the wake-up task before building, so an event persisted in between is not missed.
                    var next = hs.Notifier.NextAsync();
                    var (response, hasUpdates) = hs.BuildSync(principal, since);
                    var remaining = deadline - DateTime.UtcNow;
                    if (hasUpdates || remaining <= TimeSpan.Zero)
                    {
                        return JsonBody.Ok(response);
                    }

                    await Task.WhenAny(next, Task.Delay(remaining, ctx.RequestAborted));
                    ctx.RequestAborted.ThrowIfCancellationRequested();
                }
            });
        }
    }
}
