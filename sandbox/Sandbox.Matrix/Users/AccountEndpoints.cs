using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Hosting;
using Sandbox.Matrix.Http;

namespace Sandbox.Matrix.Users;

/// <summary>Versions, registration, login, whoami and profiles.</summary>
internal static class AccountEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/_matrix/client/versions", () => JsonBody.Ok(new JsonObject
        {
            ["versions"] = new JsonArray("r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11"),
            ["unstable_features"] = new JsonObject(),
        }));

        foreach (var prefix in EndpointContext.ClientPrefixes)
        {
            var group = app.MapGroup(prefix);
            group.MapPost("/register", async (HttpContext ctx) =>
            {
                var body = await JsonBody.ReadObjectAsync(ctx.Request);
                return JsonBody.Ok(ctx.Hs().Register(ctx.Request, body));
            });
            group.MapGet("/register/available", (HttpContext ctx) =>
            {
                var username = ctx.Request.Query["username"].ToString();
                if (username.Length == 0)
                {
                    throw MatrixException.MissingParam("username is required");
                }

                if (ctx.Hs().UserExists("@" + username + ":" + ctx.Hs().ServerName))
                {
                    throw new MatrixException(400, ErrorCodes.UserInUse, "User ID already taken.");
                }

                return JsonBody.Ok(new JsonObject { ["available"] = true });
            });
            group.MapGet("/login", () => JsonBody.Ok(new JsonObject
            {
                ["flows"] = new JsonArray(new JsonObject { ["type"] = "m.login.password" }, new JsonObject { ["type"] = "m.login.application_service" }),
            }));
            group.MapPost("/login", async (HttpContext ctx) =>
            {
                var body = await JsonBody.ReadObjectAsync(ctx.Request);
                return JsonBody.Ok(ctx.Hs().Login(ctx.Request, body));
            });
            group.MapPost("/logout", (HttpContext ctx) =>
            {
                var principal = ctx.Hs().Authenticate(ctx.Request, rateLimited: false);
                ctx.Hs().Logout(principal.TokenKey);
                return JsonBody.Empty();
            });
            group.MapGet("/account/whoami", (HttpContext ctx) =>
            {
                var principal = ctx.Hs().Authenticate(ctx.Request);
                var body = new JsonObject { ["user_id"] = principal.UserId, ["is_guest"] = false };
                if (principal.DeviceId is not null)
                {
                    body["device_id"] = principal.DeviceId;
                }

                return JsonBody.Ok(body);
            });

            group.MapGet("/user/{userId}/account_data/{type}", (HttpContext ctx, string userId, string type) =>
                JsonBody.Ok(ctx.Hs().GetAccountData(ctx.Hs().Authenticate(ctx.Request), userId, type)));
            group.MapPut("/user/{userId}/account_data/{type}", async (HttpContext ctx, string userId, string type) =>
            {
                var principal = ctx.Hs().Authenticate(ctx.Request);
                var body = await JsonBody.ReadObjectAsync(ctx.Request);
                ctx.Hs().SetAccountData(principal, userId, type, body);
                return JsonBody.Empty();
            });

            group.MapGet("/profile/{userId}", async (HttpContext ctx, string userId) =>
            {
                await ctx.Hs().EnsureUserKnownAsync(userId, ctx.RequestAborted);
                return JsonBody.Ok(ctx.Hs().GetProfile(userId));
            });
            foreach (var field in new[] { "displayname", "avatar_url" })
            {
                group.MapGet("/profile/{userId}/" + field, async (HttpContext ctx, string userId) =>
                {
                    await ctx.Hs().EnsureUserKnownAsync(userId, ctx.RequestAborted);
                    var profile = ctx.Hs().GetProfile(userId);
                    var body = new JsonObject();
                    if (profile[field] is { } value)
                    {
                        body[field] = value.DeepClone();
                    }

                    return JsonBody.Ok(body);
                });
                group.MapPut("/profile/{userId}/" + field, async (HttpContext ctx, string userId) =>
                {
                    var principal = ctx.Hs().Authenticate(ctx.Request);
                    var body = await JsonBody.ReadObjectAsync(ctx.Request);
                    ctx.Hs().SetProfileField(principal, userId, field, JsonBody.OptString(body, field));
                    return JsonBody.Empty();
                });
            }
        }
    }
}
