using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sandbox.Mattermost.Http;
using Sandbox.Mattermost.Model;
using static Sandbox.Mattermost.Http.HttpPipeline;

namespace Sandbox.Mattermost.Api;

internal static class PostEndpoints
{
    public static void Map(IEndpointRouteBuilder app, SandboxState state)
    {
        app.MapPost("/api/v4/posts", async ctx =>
        {
            var actor = Actor(ctx);
            var (post, _) = state.CreatePost(actor, await ReadObjectAsync(ctx, "post"));
            await WriteJsonAsync(ctx, 201, post.ToJson(state));
        });

        app.MapPost("/api/v4/posts/ephemeral", async ctx =>
        {
            var actor = Actor(ctx);
            var body = await ReadObjectAsync(ctx, "ephemeral_post");
            var post = state.CreateEphemeralPost(actor, SandboxState.Str(body, "user_id"), body["post"] as JsonObject ?? throw MmApiException.InvalidBodyParam("post"));
            await WriteJsonAsync(ctx, 201, post);
        });

        app.MapGet("/api/v4/posts/{post_id}", async ctx =>
            await WriteJsonAsync(ctx, 200, state.GetPost(Actor(ctx), IdParam(ctx, "post_id")).ToJson(state)));

        app.MapGet("/api/v4/posts/{post_id}/thread", async ctx =>
            await WriteJsonAsync(ctx, 200, state.PostThread(Actor(ctx), IdParam(ctx, "post_id"))));

        app.MapPut("/api/v4/posts/{post_id}/patch", async ctx =>
        {
            var actor = Actor(ctx);
            var post = state.PatchPost(actor, IdParam(ctx, "post_id"), await ReadObjectAsync(ctx, "post"));
            await WriteJsonAsync(ctx, 200, post.ToJson(state));
        });

        app.MapDelete("/api/v4/posts/{post_id}", async ctx =>
        {
            state.DeletePost(Actor(ctx), IdParam(ctx, "post_id"));
            await WriteOkAsync(ctx);
        });

        app.MapGet("/api/v4/channels/{channel_id}/posts", async ctx =>
        {
            var actor = Actor(ctx);
            var channelId = IdParam(ctx, "channel_id");
            var q = ctx.Request.Query;
            if (q.TryGetValue("since", out var sinceText))
            {
                if (!long.TryParse(sinceText, NumberStyles.None, CultureInfo.InvariantCulture, out var since))
                {
                    throw MmApiException.InvalidParam("since");
                }
                await WriteJsonAsync(ctx, 200, state.PostsSince(actor, channelId, since));
                return;
            }
            var page = int.TryParse(q["page"], CultureInfo.InvariantCulture, out var p) ? p : 0;
            var perPage = int.TryParse(q["per_page"], CultureInfo.InvariantCulture, out var pp) ? Math.Clamp(pp, 1, 200) : 60;
            if (q["before"].ToString() is { Length: > 0 } before || q["after"].ToString() is { Length: > 0 })
            {
                var after = q["after"].ToString();
                before = q["before"].ToString();
                if ((before.Length > 0 && !MmIds.IsValid(before)) || (after.Length > 0 && !MmIds.IsValid(after)))
                {
                    throw MmApiException.InvalidParam(before.Length > 0 ? "before" : "after");
                }
                await WriteJsonAsync(ctx, 200, state.PostsAround(actor, channelId, before.Length > 0 ? before : null, before.Length > 0 ? null : after, page, perPage));
                return;
            }
            await WriteJsonAsync(ctx, 200, state.PostsPage(actor, channelId, page, perPage));
        });

        app.MapPost("/api/v4/reactions", async ctx =>
        {
            var actor = Actor(ctx);
            var reaction = state.SaveReaction(actor, await ReadObjectAsync(ctx, "reaction"));
            await WriteJsonAsync(ctx, 200, reaction.ToJson()); // the server writes 200, the spec says 201
        });

        app.MapDelete("/api/v4/users/{user_id}/posts/{post_id}/reactions/{emoji_name}", async ctx =>
        {
            state.DeleteReaction(Actor(ctx), UserIdParam(ctx), IdParam(ctx, "post_id"), Route(ctx, "emoji_name"));
            await WriteOkAsync(ctx);
        });

        app.MapGet("/api/v4/posts/{post_id}/reactions", async ctx =>
        {
            var post = state.GetPost(Actor(ctx), IdParam(ctx, "post_id"));
            var list = new JsonArray(state.ReactionsOf(post.Id).Select(r => (JsonNode?)r.ToJson()).ToArray());
            await WriteJsonAsync(ctx, 200, list);
        });

        app.MapPost("/api/v4/files", async ctx =>
        {
            var actor = Actor(ctx);
            var infos = new JsonArray();
            var clientIds = new JsonArray();
            if (ctx.Request.HasFormContentType)
            {
                var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
                var channelId = form["channel_id"].ToString();
                if (!MmIds.IsValid(channelId))
                {
                    throw MmApiException.InvalidParam("channel_id");
                }
                if (form.Files.Count == 0)
                {
                    throw new MmApiException(400, "api.file.upload_file.incorrect_number_of_files.app_error", "Unable to upload files. Incorrect number of files specified.");
                }
                foreach (var part in form.Files.Where(f => f.Name == "files"))
                {
                    using var ms = new MemoryStream();
                    await part.CopyToAsync(ms, ctx.RequestAborted);
                    var file = state.UploadFile(actor, channelId, part.FileName, part.ContentType ?? "application/octet-stream", ms.ToArray());
                    infos.Add(file.ToJson());
                }
                foreach (var c in form["client_ids"])
                {
                    clientIds.Add(c);
                }
            }
            else
            {
                var channelId = ctx.Request.Query["channel_id"].ToString();
                var name = ctx.Request.Query["filename"].ToString();
                if (!MmIds.IsValid(channelId) || name.Length == 0)
                {
                    throw MmApiException.InvalidParam("channel_id");
                }
                using var ms = new MemoryStream();
                await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted);
                var file = state.UploadFile(actor, channelId, name, ctx.Request.ContentType ?? "application/octet-stream", ms.ToArray());
                infos.Add(file.ToJson());
            }
            await WriteJsonAsync(ctx, 201, new JsonObject { ["file_infos"] = infos, ["client_ids"] = clientIds });
        });

        app.MapGet("/api/v4/files/{file_id}", async ctx =>
        {
            var file = state.GetFile(Actor(ctx), IdParam(ctx, "file_id"));
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = file.MimeType;
            ctx.Response.Headers.ContentDisposition = $"attachment;filename=\"{file.Name}\"";
            await ctx.Response.Body.WriteAsync(file.Data, ctx.RequestAborted);
        });

        app.MapGet("/api/v4/files/{file_id}/info", async ctx =>
            await WriteJsonAsync(ctx, 200, state.GetFile(Actor(ctx), IdParam(ctx, "file_id")).ToJson()));
    }
}
