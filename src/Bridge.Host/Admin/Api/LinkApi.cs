using Bridge.Core.Configuration;
using Bridge.Core.Links;
using Bridge.Host.Admin.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Bridge.Host.Admin.Api;

/// <summary>
/// <c>/api/links</c>: list, show, create, change, pause, resume and delete links; add and remove endpoints. Links of the
/// configuration file are listed (<c>source: file</c>) but read-only: changing one is 409.
/// </summary>
internal static class LinkApi
{
    public static void Map(IEndpointRouteBuilder app, BridgeTopology topology, LinkManager links, ChangeGate gate)
    {
        app.MapGet("/api/links", () => Results.Json(topology.Links.Select(l => View(l, links)).ToList(), AdminJsonContext.Default.ListLinkView));
        app.MapGet("/api/links/{id}", (string id) => topology.FindLink(id) is { } link
            ? Results.Json(View(link, links), AdminJsonContext.Default.LinkView)
            : ApiError.Result(404, $"no link '{id}'", "id"));

        app.MapPost("/api/links", (HttpContext context, CancellationToken _) => gate.RunAsync(context, async (by, ct) =>
        {
            var request = await RequestBody.ReadAsync(context.Request, AdminRequestJsonContext.Default.CreateLinkRequest, ct);
            var spec = new LinkSpec { Endpoints = request.Endpoints ?? [], Translation = request.Translation, Paused = request.Paused };
            var link = await links.CreateAsync(request.Id, spec, by, ct);
            return Results.Json(View(link, links), AdminJsonContext.Default.LinkView, statusCode: 201);
        }));
        app.MapMethods("/api/links/{id}", ["PATCH"], (HttpContext context, string id) => gate.RunAsync(context, async (by, ct) =>
        {
            var request = await RequestBody.ReadAsync(context.Request, AdminRequestJsonContext.Default.UpdateLinkRequest, ct);
            var link = await links.UpdateAsync(id, current => current with
            {
                Endpoints = request.Endpoints ?? current.Endpoints,
                Translation = request.Translation ?? current.Translation,
                Paused = request.Paused ?? current.Paused,
            }, by, ct);
            return Results.Json(View(link, links), AdminJsonContext.Default.LinkView);
        }));
        app.MapDelete("/api/links/{id}", (HttpContext context, string id) => gate.RunAsync(context, async (by, ct) =>
        {
            await links.DeleteAsync(id, by, ct);
            return Results.NoContent();
        }));
        app.MapPost("/api/links/{id}/pause", (HttpContext context, string id) => gate.RunAsync(context, async (by, ct) =>
            Results.Json(View(await links.SetPausedAsync(id, true, by, ct), links), AdminJsonContext.Default.LinkView)));
        app.MapPost("/api/links/{id}/resume", (HttpContext context, string id) => gate.RunAsync(context, async (by, ct) =>
            Results.Json(View(await links.SetPausedAsync(id, false, by, ct), links), AdminJsonContext.Default.LinkView)));
        app.MapPost("/api/links/{id}/endpoints", (HttpContext context, string id) => gate.RunAsync(context, async (by, ct) =>
        {
            var endpoint = await RequestBody.ReadAsync(context.Request, AdminRequestJsonContext.Default.EndpointSpec, ct);
            return Results.Json(View(await links.AddEndpointAsync(id, endpoint, by, ct), links), AdminJsonContext.Default.LinkView);
        }));
        // The channel goes in the query: channel ids hold '/', '#' and '@', which a path segment would mangle.
        app.MapDelete("/api/links/{id}/endpoints", (HttpContext context, string id, string? network, string? channel) => gate.RunAsync(context, async (by, ct) =>
        {
            if (string.IsNullOrEmpty(network) || string.IsNullOrEmpty(channel))
            {
                throw new LinkChangeException(400, "name the endpoint: ?network=ID&channel=CHANNEL", string.IsNullOrEmpty(network) ? "network" : "channel");
            }

            return Results.Json(View(await links.RemoveEndpointAsync(id, network, channel, by, ct), links), AdminJsonContext.Default.LinkView);
        }));
    }

    public static LinkView View(LinkDefinition link, LinkManager links)
    {
        var changed = links.LastChange(link.Id);
        return new LinkView(link.Id, link.Source switch { LinkSource.File => "file", LinkSource.Direct => "direct", _ => "api" }, link.Paused, link.TranslationEngine,
            [.. link.Endpoints.Select(e => new EndpointView(e.NetworkId, e.ChannelId, link.Languages.GetValueOrDefault(e)))],
            changed?.At, changed?.By);
    }
}

internal sealed record LinkView(string Id, string Source, bool Paused, string? Translation, IReadOnlyList<EndpointView> Endpoints, DateTimeOffset? UpdatedAt, string? UpdatedBy);

internal sealed record EndpointView(string Network, string Channel, string? Language);
