using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sandbox.Mattermost.Http;
using Sandbox.Mattermost.Model;
using static Sandbox.Mattermost.Http.HttpPipeline;

namespace Sandbox.Mattermost.Api;

internal static class UserEndpoints
{
    /// <summary>A user as <paramref name="viewer"/> may see them: without first and last name when the privacy settings hide full names.</summary>
    private static JsonObject AsSeenBy(SandboxState state, UserRecord viewer, UserRecord user)
    {
        var json = user.ToJson();
        if (!state.Settings.ShowFullName && !viewer.IsAdmin && viewer.Id != user.Id)
        {
            json["first_name"] = "";
            json["last_name"] = "";
        }

        return json;
    }

    public static void Map(IEndpointRouteBuilder app, SandboxState state)
    {
        app.MapPost("/api/v4/users/login", async ctx =>
        {
            var body = await ReadObjectAsync(ctx);
            var (user, token) = state.Login(SandboxState.Str(body, "login_id"), SandboxState.Str(body, "password"));
            ctx.Response.Headers["Token"] = token;
            ctx.Response.Cookies.Append("MMAUTHTOKEN", token, new CookieOptions { HttpOnly = true, Path = "/" });
            await WriteJsonAsync(ctx, 200, user.ToJson()); // the server writes no explicit status: 200, not the spec's 201
        });

        app.MapPost("/api/v4/users/logout", async ctx =>
        {
            if (Session(ctx) is { AccessTokenId: null } s)
            {
                state.Logout(s.Token);
            }
            ctx.Response.Cookies.Delete("MMAUTHTOKEN");
            await WriteOkAsync(ctx);
        });

        app.MapPost("/api/v4/users", async ctx =>
        {
            var actor = Actor(ctx);
            var user = state.CreateUser(actor, await ReadObjectAsync(ctx, "user"));
            await WriteJsonAsync(ctx, 201, user.ToJson());
        });

        app.MapGet("/api/v4/users/{user_id}", async ctx =>
        {
            var actor = Actor(ctx);
            var user = state.GetVisibleUser(actor, state.GetUser(UserIdParam(ctx)));
            await WriteJsonAsync(ctx, 200, AsSeenBy(state, actor, user));
        });

        app.MapGet("/api/v4/users/username/{username}", async ctx =>
        {
            var actor = Actor(ctx);
            var user = state.FindUserByUsername(Route(ctx, "username"))
                ?? throw new MmApiException(404, "app.user.get_by_username.app_error", "Unable to find an existing account matching your username for this team. This team may require an invite from the team owner to join.");
            await WriteJsonAsync(ctx, 200, AsSeenBy(state, actor, state.GetVisibleUser(actor, user)));
        });

        app.MapPost("/api/v4/users/usernames", async ctx =>
        {
            var actor = Actor(ctx);
            var node = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted) as JsonArray
                ?? throw MmApiException.InvalidBodyParam("usernames");
            var result = new JsonArray();
            foreach (var name in node.Select(n => n?.GetValue<string>() ?? ""))
            {
                // People the actor may not see are left out, as the server's view restrictions do.
                if (state.FindUserByUsername(name) is { } u && state.CanSeeUser(actor, u.Id))
                {
                    result.Add(AsSeenBy(state, actor, u));
                }
            }
            await WriteJsonAsync(ctx, 200, result);
        });

        app.MapPut("/api/v4/users/{user_id}/patch", async ctx =>
        {
            var actor = Actor(ctx);
            var user = state.PatchUser(actor, UserIdParam(ctx), await ReadObjectAsync(ctx, "user"));
            await WriteJsonAsync(ctx, 200, user.ToJson());
        });

        app.MapPost("/api/v4/users/{user_id}/image", async ctx =>
        {
            var actor = Actor(ctx);
            var userId = UserIdParam(ctx);
            state.RequireMayEditUser(actor, userId); // permission before the body, as the server does
            if (!ctx.Request.HasFormContentType)
            {
                throw new MmApiException(400, "api.user.upload_profile_user.parse.app_error", "Could not parse multipart form.");
            }
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
            if (form.Files.GetFile("image") is not { } file)
            {
                throw new MmApiException(400, "api.user.upload_profile_user.no_file.app_error", "No file under 'image' in request.");
            }
            using var buffer = new MemoryStream();
            await file.CopyToAsync(buffer, ctx.RequestAborted);
            state.SetProfileImage(actor, userId, buffer.ToArray());
            await WriteOkAsync(ctx);
        });

        app.MapDelete("/api/v4/users/{user_id}/image", async ctx =>
        {
            var actor = Actor(ctx);
            state.ResetProfileImage(actor, UserIdParam(ctx));
            await WriteOkAsync(ctx);
        });

        app.MapGet("/api/v4/users/{user_id}/image", async ctx =>
        {
            Actor(ctx);
            var user = state.GetUser(UserIdParam(ctx));
            state.CountPictureRead(user.Id);
            if (user.Picture is { } picture)
            {
                ctx.Response.ContentType = picture.ContentType;
                ctx.Response.ContentLength = picture.Data.Length;
                await ctx.Response.Body.WriteAsync(picture.Data, ctx.RequestAborted);
                return;
            }
            // The server draws a default avatar; a 1x1 PNG stands in for it.
            ctx.Response.ContentType = "image/png";
            await ctx.Response.Body.WriteAsync(Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="), ctx.RequestAborted);
        });

        app.MapPost("/api/v4/users/{user_id}/email/verify/member", async ctx =>
        {
            state.VerifyEmail(Actor(ctx), UserIdParam(ctx));
            await WriteJsonAsync(ctx, 200, state.GetUser(UserIdParam(ctx)).ToJson());
        });

        app.MapPut("/api/v4/users/{user_id}/roles", async ctx =>
        {
            var actor = Actor(ctx);
            var body = await ReadObjectAsync(ctx);
            state.UpdateRoles(actor, UserIdParam(ctx), SandboxState.Str(body, "roles"));
            await WriteOkAsync(ctx);
        });

        app.MapPost("/api/v4/users/{user_id}/demote", async ctx =>
        {
            state.DemoteToGuest(Actor(ctx), UserIdParam(ctx));
            await WriteOkAsync(ctx);
        });

        app.MapPost("/api/v4/users/{user_id}/tokens", async ctx =>
        {
            var actor = Actor(ctx);
            if (Session(ctx) is null)
            {
                throw MmApiException.SessionExpired();
            }
            var body = await ReadObjectAsync(ctx, "token");
            var token = state.CreateAccessToken(actor, UserIdParam(ctx), SandboxState.Str(body, "description"));
            await WriteJsonAsync(ctx, 200, token.ToJson(withToken: true)); // 200, not the spec's 201
        });

        app.MapPost("/api/v4/users/tokens/revoke", async ctx =>
        {
            var actor = Actor(ctx);
            var body = await ReadObjectAsync(ctx);
            state.RevokeAccessToken(actor, SandboxState.Str(body, "token_id"));
            await WriteOkAsync(ctx);
        });

        app.MapPost("/api/v4/users/{user_id}/typing", async ctx =>
        {
            var actor = Actor(ctx);
            var userId = UserIdParam(ctx);
            if (userId != actor.Id && !actor.IsAdmin)
            {
                throw MmApiException.Forbidden();
            }
            var body = await ReadObjectAsync(ctx);
            state.PublishTyping(state.GetUser(userId), SandboxState.Str(body, "channel_id"), SandboxState.Str(body, "parent_id"));
            await WriteOkAsync(ctx);
        });

        app.MapPost("/api/v4/bots", async ctx =>
        {
            var actor = Actor(ctx);
            var bot = state.CreateBot(actor, await ReadObjectAsync(ctx, "bot"));
            await WriteJsonAsync(ctx, 201, bot.ToBotJson());
        });
    }
}
