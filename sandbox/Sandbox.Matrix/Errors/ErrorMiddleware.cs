using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Sandbox.Matrix.Errors;

/// <summary>
/// Turns <see cref="MatrixException"/> and unexpected failures into spec-shaped JSON errors, and gives
/// bodiless 404/405 responses from routing the <c>M_UNRECOGNIZED</c> body the spec requires.
/// </summary>
internal sealed class ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> logger)
{
    private static readonly EventId UnhandledEvent = new(1, "Unhandled");

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
            if (!context.Response.HasStarted && context.Response.ContentLength is null or 0
                && context.Response.ContentType is null)
            {
                switch (context.Response.StatusCode)
                {
                    case 404:
                        await WriteAsync(context, new MatrixException(404, ErrorCodes.Unrecognized, "Unrecognized request"));
                        break;
                    case 405:
                        await WriteAsync(context, new MatrixException(405, ErrorCodes.Unrecognized, "Unrecognized request: method not allowed"));
                        break;
                    default:
                        break;
                }
            }
        }
        catch (MatrixException ex)
        {
            if (!context.Response.HasStarted)
            {
                await WriteAsync(context, ex);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception ex)
        {
            logger.LogError(UnhandledEvent, ex, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            if (!context.Response.HasStarted)
            {
                await WriteAsync(context, new MatrixException(500, ErrorCodes.Unknown, "Internal server error"));
            }
        }
    }

    internal static async Task WriteAsync(HttpContext context, MatrixException ex)
    {
        context.Response.Clear();
        context.Response.StatusCode = ex.Status;
        foreach (var (name, value) in ex.Headers)
        {
            context.Response.Headers[name] = value;
        }

        context.Response.ContentType = "application/json";
        JsonObject body = ex.ToBody();
        if (ex.ErrCode == ErrorCodes.UnknownToken)
        {
            body["soft_logout"] = false;
        }

        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }
}
