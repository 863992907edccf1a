using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sandbox.Mattermost.Http;
using Sandbox.Mattermost.Model;
using static Sandbox.Mattermost.Http.HttpPipeline;

namespace Sandbox.Mattermost.Api;

internal static class TeamChannelEndpoints
{
    public static void Map(IEndpointRouteBuilder app, SandboxState state)
    {
        app.MapGet("/api/v4/teams/name/{team_name}", async ctx =>
            await WriteJsonAsync(ctx, 200, state.GetTeamByName(Actor(ctx), Route(ctx, "team_name")).ToJson()));

        app.MapGet("/api/v4/teams/{team_id}", async ctx =>
            await WriteJsonAsync(ctx, 200, state.GetTeam(Actor(ctx), IdParam(ctx, "team_id")).ToJson()));

        app.MapPost("/api/v4/teams/{team_id}/members", async ctx =>
        {
            var actor = Actor(ctx);
            var body = await ReadObjectAsync(ctx, "team_member");
            var teamId = IdParam(ctx, "team_id");
            if (SandboxState.Str(body, "team_id") != teamId)
            {
                throw MmApiException.InvalidParam("team_id");
            }
            var member = state.AddTeamMember(actor, teamId, SandboxState.Str(body, "user_id"));
            await WriteJsonAsync(ctx, 201, member);
        });

        app.MapGet("/api/v4/teams/{team_id}/channels/name/{channel_name}", async ctx =>
        {
            var actor = Actor(ctx);
            var channel = state.GetChannelByName(actor, IdParam(ctx, "team_id"), Route(ctx, "channel_name"));
            await WriteJsonAsync(ctx, 200, channel.ToJson());
        });

        app.MapGet("/api/v4/teams/name/{team_name}/channels/name/{channel_name}", async ctx =>
        {
            var actor = Actor(ctx);
            var team = state.FindTeamByName(Route(ctx, "team_name"))
                ?? throw new MmApiException(404, "app.team.get_by_name.missing.app_error", "Unable to find the existing team.");
            var channel = state.GetChannelByName(actor, team.Id, Route(ctx, "channel_name"));
            await WriteJsonAsync(ctx, 200, channel.ToJson());
        });

        app.MapGet("/api/v4/channels/{channel_id}", async ctx =>
            await WriteJsonAsync(ctx, 200, state.GetChannel(Actor(ctx), IdParam(ctx, "channel_id")).ToJson()));

        app.MapPost("/api/v4/channels/{channel_id}/members", async ctx =>
        {
            var actor = Actor(ctx);
            var body = await ReadObjectAsync(ctx, "channel_member");
            var channelId = IdParam(ctx, "channel_id");
            var userId = SandboxState.Str(body, "user_id");
            if (!MmIds.IsValid(userId))
            {
                throw MmApiException.InvalidParam("user_id");
            }
            var member = state.AddChannelMember(actor, channelId, userId);
            await WriteJsonAsync(ctx, 201, member.ToJson(state.GetUser(userId).IsGuest));
        });

        app.MapGet("/api/v4/channels/{channel_id}/members/{user_id}", async ctx =>
        {
            var actor = Actor(ctx);
            var userId = UserIdParam(ctx);
            var member = state.GetChannelMember(actor, IdParam(ctx, "channel_id"), userId);
            await WriteJsonAsync(ctx, 200, member.ToJson(state.GetUser(userId).IsGuest));
        });

        app.MapDelete("/api/v4/channels/{channel_id}/members/{user_id}", async ctx =>
        {
            state.RemoveChannelMember(Actor(ctx), IdParam(ctx, "channel_id"), UserIdParam(ctx));
            await WriteOkAsync(ctx);
        });
    }
}
