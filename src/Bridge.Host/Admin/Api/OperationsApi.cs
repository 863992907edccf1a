using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Links;
using Bridge.Core.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Bridge.Host.Admin.Api;

/// <summary><c>/api/deadletters</c> (list, retry, drop) and <c>/api/networks</c> (state, puppets).</summary>
internal static class OperationsApi
{
    public static void Map(IEndpointRouteBuilder app, IBridgeStore store, ConnectorRegistry connectors, DeliverySignals signals, ChangeGate gate, TimeProvider time)
    {
        app.MapGet("/api/deadletters", async (int? limit, CancellationToken ct) =>
            Results.Json((await store.GetDeadLettersAsync(Math.Clamp(limit ?? 200, 1, 10_000), ct)).Select(View), AdminJson.Options));
        app.MapPost("/api/deadletters/{id:long}/retry", (HttpContext context, long id) => gate.RunAsync(context, (by, ct) =>
            ResolveAsync(id, retry: true, by, ct)));
        app.MapDelete("/api/deadletters/{id:long}", (HttpContext context, long id) => gate.RunAsync(context, (by, ct) =>
            ResolveAsync(id, retry: false, by, ct)));

        app.MapGet("/api/networks", () => Results.Json(connectors.All.Select(c => new
        {
            id = c.NetworkId,
            kind = c.Kind.ToString().ToLowerInvariant(),
            ready = c.IsReady,
            degraded = c.DegradedReason,
            puppets = c.Puppets.Count,
        }), AdminJson.Options));
        app.MapGet("/api/networks/{id}/puppets", (string id) => connectors.Find(id) is { } connector
            ? Results.Json(connector.Puppets, AdminJson.Options)
            : ApiError.Result(404, $"no network '{id}'", "id"));

        async Task<IResult> ResolveAsync(long id, bool retry, string by, CancellationToken ct)
        {
            var admin = store as IAdminStore ?? throw new LinkChangeException(501, "this store cannot change dead letters");
            var decision = retry ? "deadletter-retried" : "deadletter-dropped";
            var reason = retry ? $"retried through the admin API by {by}" : $"dropped through the admin API by {by}";
            var audit = AdminAudit.Change(time.GetUtcNow(), decision, by, "", "", null) with { EventKey = $"outbox/{id}" };
            if (!await admin.ResolveDeadLetterAsync(id, retry, reason, audit, ct))
            {
                throw new LinkChangeException(404, $"outbox row {id} is not a dead letter", "id");
            }

            if (retry)
            {
                foreach (var c in connectors.All)
                {
                    signals.Signal(c.NetworkId);
                }
            }

            return Results.Json(new { id, state = retry ? "pending" : "dropped" }, AdminJson.Options);
        }
    }

    private static object View(DeadLetter d) => new
    {
        id = d.OutboxId,
        link = d.LinkId,
        network = d.Destination.NetworkId,
        channel = d.Destination.ChannelId,
        originNetwork = d.OriginNetwork,
        originId = d.OriginNativeId,
        reason = d.Reason,
        attempts = d.Attempts,
        at = d.At,
    };
}
