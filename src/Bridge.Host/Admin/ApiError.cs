using Microsoft.AspNetCore.Http;

namespace Bridge.Host.Admin;

/// <summary>The one error shape of the admin API: <c>{"error": "...", "field": "endpoints[1].network"}</c>.</summary>
internal static class ApiError
{
    public static Task WriteAsync(HttpContext context, int status, string error, string? field = null)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ApiErrorBody(error, field), AdminJsonContext.Default.ApiErrorBody, cancellationToken: context.RequestAborted);
    }

    public static IResult Result(int status, string error, string? field = null) =>
        Results.Json(new ApiErrorBody(error, field), AdminJsonContext.Default.ApiErrorBody, statusCode: status);
}

internal sealed record ApiErrorBody(string Error, string? Field);
