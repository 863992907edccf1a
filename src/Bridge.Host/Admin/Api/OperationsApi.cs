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
            Results.Json((await store.GetDeadLettersAsync(Math.Clamp(limit ?? 200, 1, 10_000), ct)).Select(View).ToList(), AdminJsonContext.Default.ListDeadLetterView));
        app.MapPost("/api/deadletters/{id:long}/retry", (HttpContext context, long id) => gate.RunAsync(context, (by, ct) =>
            ResolveAsync(id, retry: true, by, ct)));
        app.MapDelete("/api/deadletters/{id:long}", (HttpContext context, long id) => gate.RunAsync(context, (by, ct) =>
            ResolveAsync(id, retry: false, by, ct)));

        app.MapGet("/api/networks", () => Results.Json(connectors.All.Select(NetworkView.Of).ToList(), AdminJsonContext.Default.ListNetworkView));
        app.MapGet("/api/networks/{id}/puppets", (string id) => connectors.Find(id) is { } connector
            ? Results.Json(connector.Puppets, AdminJsonContext.Default.IReadOnlyListPuppetInfo)
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

            return Results.Json(new DeadLetterStateView(id, retry ? "pending" : "dropped"), AdminJsonContext.Default.DeadLetterStateView);
        }
    }

    internal static DeadLetterView View(DeadLetter d) =>
        new(d.OutboxId, d.LinkId, d.Destination.NetworkId, d.Destination.ChannelId, d.OriginNetwork, d.OriginNativeId, d.Reason, d.Attempts, d.At);
}

/// <summary>A dead letter as <c>/api/deadletters</c> lists it.</summary>
internal sealed record DeadLetterView(long Id, string Link, string Network, string Channel, string OriginNetwork, string OriginId, string Reason, int Attempts, DateTimeOffset At);

/// <summary>The answer to a retry or a drop.</summary>
internal sealed record DeadLetterStateView(long Id, string State);

/// <summary>A network as <c>/api/networks</c> lists it.</summary>
internal sealed record NetworkView(string Id, string Kind, bool Ready, string? Degraded, int Puppets)
{
    public static NetworkView Of(INetworkConnector c) => new(c.NetworkId, c.Kind.ToString().ToLowerInvariant(), c.IsReady, c.DegradedReason, c.Puppets.Count);
}
