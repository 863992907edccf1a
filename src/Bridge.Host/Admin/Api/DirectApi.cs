using Bridge.Core.Configuration;
using Bridge.Core.Direct;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Bridge.Host.Admin.Api;

/// <summary>
/// <c>/api/direct</c>: the direct-message portals (two people of two networks, each chatting with the other's puppet),
/// read-only. A portal is not a link: the link endpoints refuse to change one (409), and its channels cannot be put in
/// a link. Whether it is in force: both networks have <c>directMessages</c> on.
/// </summary>
internal static class DirectApi
{
    public static void Map(IEndpointRouteBuilder app, DirectPortalRegistry portals, BridgeTopology topology)
    {
        app.MapGet("/api/direct", () => Results.Json(portals.All.OrderBy(p => p.CreatedAt).ThenBy(p => p.Id, StringComparer.Ordinal).Select(p => View(p, topology)).ToList(), AdminJsonContext.Default.ListDirectPortalView));
        app.MapGet("/api/direct/{id}", (string id) => portals.Find(id) is { } portal
            ? Results.Json(View(portal, topology), AdminJsonContext.Default.DirectPortalView)
            : ApiError.Result(404, $"no direct-message portal '{(id.Length > 64 ? id[..64] + "…" : id)}'", "id"));
    }

    private static DirectPortalView View(DirectPortal portal, BridgeTopology topology) =>
        new(portal.Id, portal.CreatedAt, topology.FindLink(portal.Id) is { Source: LinkSource.Direct },
            [.. portal.Parties.Select(p => new DirectPartyView(p.NetworkId, p.UserId, p.ChannelId, p.DisplayName))]);
}

internal sealed record DirectPortalView(string Id, DateTimeOffset CreatedAt, bool InForce, IReadOnlyList<DirectPartyView> Parties);

internal sealed record DirectPartyView(string Network, string User, string Channel, string DisplayName);
