using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Hosting;
using Sandbox.Matrix.Http;

namespace Sandbox.Matrix.Rooms;

/// <summary>Room endpoints of the client-server API.</summary>
internal static class RoomEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in EndpointContext.ClientPrefixes)
        {
            var group = app.MapGroup(prefix);
            group.MapPost("/createRoom", async (HttpContext ctx) =>
            {
                var hs = ctx.Hs();
                var principal = hs.Authenticate(ctx.Request);
                var body = await JsonBody.ReadObjectAsync(ctx.Request);
                foreach (var invitee in Homeserver.InvitesOf(body))
                {
                    await hs.EnsureUserKnownAsync(invitee, ctx.RequestAborted);
                }

                return JsonBody.Ok(hs.CreateRoom(principal, body));
            });
            group.MapPost("/rooms/{roomId}/join", async (HttpContext ctx, string roomId) =>
            {
                var principal = ctx.Hs().Authenticate(ctx.Request);
                await JsonBody.ReadObjectAsync(ctx.Request, allowEmpty: true);
                return JsonBody.Ok(new JsonObject { ["room_id"] = ctx.Hs().Join(principal, roomId) });
            });
            group.MapPost("/join/{roomIdOrAlias}", async (HttpContext ctx, string roomIdOrAlias) =>
            {
                var hs = ctx.Hs();
                var principal = hs.Authenticate(ctx.Request);
                await JsonBody.ReadObjectAsync(ctx.Request, allowEmpty: true);
                var roomId = roomIdOrAlias.StartsWith('#') ? await hs.ResolveAliasAsync(roomIdOrAlias, ctx.RequestAborted) : roomIdOrAlias;
                return JsonBody.Ok(new JsonObject { ["room_id"] = hs.Join(principal, roomId) });
            });
            group.MapPost("/rooms/{roomId}/invite", async (HttpContext ctx, string roomId) =>
            {
                var hs = ctx.Hs();
                var principal = hs.Authenticate(ctx.Request);
                var body = await JsonBody.ReadObjectAsync(ctx.Request);
                var userId = JsonBody.OptString(body, "user_id") ?? throw MatrixException.MissingParam("user_id is required");
                await hs.EnsureUserKnownAsync(userId, ctx.RequestAborted);
                hs.Invite(principal, roomId, userId, JsonBody.OptString(body, "reason"));
                return JsonBody.Empty();
            });
            group.MapPost("/rooms/{roomId}/leave", async (HttpContext ctx, string roomId) =>
            {
                var principal = ctx.Hs().Authenticate(ctx.Request);
                var body = await JsonBody.ReadObjectAsync(ctx.Request, allowEmpty: true);
                ctx.Hs().Leave(principal, roomId, JsonBody.OptString(body, "reason"));
                return JsonBody.Empty();
            });
            group.MapPut("/rooms/{roomId}/send/{eventType}/{txnId}", async (HttpContext ctx, string roomId, string eventType, string txnId) =>
            {
                var principal = ctx.Hs().Authenticate(ctx.Request);
                var body = await JsonBody.ReadObjectAsync(ctx.Request);
                var eventId = ctx.Hs().Send(principal, roomId, eventType, txnId, body, ctx.Request.QueryLong("ts"));
                return JsonBody.Ok(new JsonObject { ["event_id"] = eventId });
            });
            group.MapPut("/rooms/{roomId}/state/{eventType}/{stateKey?}", async (HttpContext ctx, string roomId, string eventType, string? stateKey) =>
            {
                var principal = ctx.Hs().Authenticate(ctx.Request);
                var body = await JsonBody.ReadObjectAsync(ctx.Request);
                var eventId = ctx.Hs().SetState(principal, roomId, eventType, stateKey ?? string.Empty, body, ctx.Request.QueryLong("ts"));
                return JsonBody.Ok(new JsonObject { ["event_id"] = eventId });
            });
            group.MapPut("/rooms/{roomId}/typing/{userId}", async (HttpContext ctx, string roomId, string userId) =>
            {
                var principal = ctx.Hs().Authenticate(ctx.Request);
                var body = await JsonBody.ReadObjectAsync(ctx.Request);
                ctx.Hs().SetTyping(principal, roomId, userId, body);
                return JsonBody.Empty();
            });
            group.MapGet("/rooms/{roomId}/state", (HttpContext ctx, string roomId) =>
                JsonBody.Ok(ctx.Hs().GetState(ctx.Hs().Authenticate(ctx.Request), roomId)));
            group.MapGet("/rooms/{roomId}/state/{eventType}/{stateKey?}", (HttpContext ctx, string roomId, string eventType, string? stateKey) =>
                JsonBody.Ok(ctx.Hs().GetStateEvent(ctx.Hs().Authenticate(ctx.Request), roomId, eventType, stateKey ?? string.Empty)));
            group.MapGet("/rooms/{roomId}/joined_members", (HttpContext ctx, string roomId) =>
                JsonBody.Ok(ctx.Hs().JoinedMembers(ctx.Hs().Authenticate(ctx.Request), roomId)));
            group.MapGet("/rooms/{roomId}/event/{eventId}", (HttpContext ctx, string roomId, string eventId) =>
                JsonBody.Ok(ctx.Hs().GetEvent(ctx.Hs().Authenticate(ctx.Request), roomId, eventId)));
            group.MapGet("/rooms/{roomId}/messages", (HttpContext ctx, string roomId) =>
            {
                var principal = ctx.Hs().Authenticate(ctx.Request);
                var dir = ctx.Request.Query["dir"].ToString();
                var limit = (int)Math.Clamp(ctx.Request.QueryLong("limit") ?? 10, 1, 1000);
                return JsonBody.Ok(ctx.Hs().Messages(principal, roomId, ctx.Request.Query["from"].ToString(), dir == "f" ? "f" : "b", limit));
            });
            group.MapGet("/joined_rooms", (HttpContext ctx) =>
                JsonBody.Ok(new JsonObject { ["joined_rooms"] = ctx.Hs().JoinedRooms(ctx.Hs().Authenticate(ctx.Request)) }));
            group.MapPut("/rooms/{roomId}/redact/{eventId}/{txnId}", async (HttpContext ctx, string roomId, string eventId, string txnId) =>
            {
                var principal = ctx.Hs().Authenticate(ctx.Request);
                var body = await JsonBody.ReadObjectAsync(ctx.Request, allowEmpty: true);
                var redactionId = ctx.Hs().Redact(principal, roomId, eventId, txnId, JsonBody.OptString(body, "reason"));
                return JsonBody.Ok(new JsonObject { ["event_id"] = redactionId });
            });

            group.MapGet("/directory/room/{alias}", async (HttpContext ctx, string alias) =>
                JsonBody.Ok(ctx.Hs().AliasResponse(await ctx.Hs().ResolveAliasAsync(alias, ctx.RequestAborted))));
            group.MapPut("/directory/room/{alias}", async (HttpContext ctx, string alias) =>
            {
                var principal = ctx.Hs().Authenticate(ctx.Request);
                var body = await JsonBody.ReadObjectAsync(ctx.Request);
                var roomId = JsonBody.OptString(body, "room_id") ?? throw MatrixException.MissingParam("room_id is required");
                ctx.Hs().PutAlias(principal, alias, roomId);
                return JsonBody.Empty();
            });
            group.MapDelete("/directory/room/{alias}", (HttpContext ctx, string alias) =>
            {
                ctx.Hs().DeleteAlias(ctx.Hs().Authenticate(ctx.Request), alias);
                return JsonBody.Empty();
            });
        }
    }
}
