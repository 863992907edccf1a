using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Hosting;
using Sandbox.Matrix.Http;

namespace Sandbox.Matrix.Media;

/// <summary>Upload, and download both through authenticated media (v1.11) and the legacy unauthenticated path.</summary>
internal static class MediaEndpoints
{
    public static void Map(IEndpointRouteBuilder app, MatrixSandboxOptions options)
    {
        foreach (var prefix in new[] { "/_matrix/media/v3", "/_matrix/media/r0" })
        {
            app.MapPost(prefix + "/upload", (Delegate)UploadAsync);
            app.MapGet(prefix + "/config", (HttpContext ctx) => Config(ctx));
            app.MapGet(prefix + "/download/{serverName}/{mediaId}/{fileName?}",
                (HttpContext ctx, string serverName, string mediaId, string? fileName) =>
                {
                    if (options.AuthenticatedMedia)
                    {
                        // Synapse with authenticated media: media is no longer served without a token (frozen legacy path).
                        throw MatrixException.NotFound("Not found");
                    }
                    return Download(ctx, serverName, mediaId, fileName);
                });
        }

        if (!options.AuthenticatedMedia)
        {
            return; // an older homeserver: the v1 media endpoints do not exist (404 M_UNRECOGNIZED from the error middleware)
        }

        app.MapGet("/_matrix/client/v1/media/config", (HttpContext ctx) => Config(ctx));
        app.MapGet("/_matrix/client/v1/media/download/{serverName}/{mediaId}/{fileName?}",
            (HttpContext ctx, string serverName, string mediaId, string? fileName) =>
            {
                ctx.Hs().Authenticate(ctx.Request, rateLimited: false);
                return Download(ctx, serverName, mediaId, fileName);
            });
    }

    private static IResult Config(HttpContext ctx)
    {
        ctx.Hs().Authenticate(ctx.Request, rateLimited: false);
        return JsonBody.Ok(new JsonObject { ["m.upload.size"] = ctx.Hs().Options.MaxUploadBytes });
    }

    private static async Task<IResult> UploadAsync(HttpContext ctx)
    {
        var hs = ctx.Hs();
        hs.Authenticate(ctx.Request);
        if (ctx.Request.ContentLength > hs.Options.MaxUploadBytes)
        {
            throw new MatrixException(413, ErrorCodes.TooLarge, "Upload too large");
        }

        using var buffer = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(buffer, ctx.RequestAborted);
        if (buffer.Length > hs.Options.MaxUploadBytes)
        {
            throw new MatrixException(413, ErrorCodes.TooLarge, "Upload too large");
        }

        var contentType = ctx.Request.ContentType ?? "application/octet-stream";
        var fileName = ctx.Request.Query["filename"].ToString();
        var mediaId = hs.Media.Add(buffer.ToArray(), contentType, fileName.Length > 0 ? fileName : null);
        return JsonBody.Ok(new JsonObject { ["content_uri"] = $"mxc://{hs.ServerName}/{mediaId}" });
    }

    private static IResult Download(HttpContext ctx, string serverName, string mediaId, string? fileName)
    {
        var hs = ctx.Hs();
        hs.Media.CountDownload(mediaId);
        if (serverName != hs.ServerName || hs.Media.Get(mediaId) is not { } media)
        {
            throw MatrixException.NotFound("Media not found");
        }

        var name = fileName ?? media.FileName;
        if (name is not null)
        {
            ctx.Response.Headers.ContentDisposition = "attachment; filename=\"" + name.Replace("\"", string.Empty, StringComparison.Ordinal) + "\"";
        }

        return Results.Bytes(media.Data, media.ContentType);
    }
}
