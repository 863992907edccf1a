using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sandbox.Mattermost.Http;
using Sandbox.Mattermost.Model;
using static Sandbox.Mattermost.Http.HttpPipeline;

namespace Sandbox.Mattermost.Api;

/// <summary>POST /channels, POST /channels/direct, GET /users/autocomplete and PUT /posts/{id}, as strict as the real server.</summary>
internal static class DirectAndSearchEndpoints
{
    public static void Map(IEndpointRouteBuilder app, SandboxState state)
    {
        app.MapPost("/api/v4/channels", async ctx =>
        {
            var actor = Actor(ctx);
            var channel = state.CreateChannelFor(actor, await ReadObjectAsync(ctx, "channel"));
            await WriteJsonAsync(ctx, 201, channel.ToJson());
        });

        app.MapPost("/api/v4/channels/direct", async ctx =>
        {
            var actor = Actor(ctx);
            JsonNode? node;
            try
            {
                node = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
            }
            catch (System.Text.Json.JsonException)
            {
                node = null;
            }

            var ids = node as JsonArray ?? throw new MmApiException(400, "api.payload.parse.error", "Could not parse the request payload.");
            await WriteJsonAsync(ctx, 201, state.GetOrCreateDirectChannel(actor, ids).ToJson());
        });

        app.MapGet("/api/v4/users/autocomplete", async ctx =>
        {
            var actor = Actor(ctx);
            var q = ctx.Request.Query;
            string? Id(string name) => q.TryGetValue(name, out var v) && v.ToString().Length > 0
                ? (MmIds.IsValid(v) ? v.ToString() : throw MmApiException.InvalidParam(name))
                : null;
            var limit = int.TryParse(q["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? Math.Clamp(l, 1, 100) : 100;
            await WriteJsonAsync(ctx, 200, state.Autocomplete(actor, Id("in_team"), Id("in_channel"), q["name"].ToString(), limit));
        });

        app.MapPut("/api/v4/posts/{post_id}", async ctx =>
        {
            var actor = Actor(ctx);
            var post = state.UpdatePost(actor, IdParam(ctx, "post_id"), await ReadObjectAsync(ctx, "post"));
            await WriteJsonAsync(ctx, 200, post.ToJson(state));
        });
    }
}
