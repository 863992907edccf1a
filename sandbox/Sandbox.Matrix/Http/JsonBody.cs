using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sandbox.Matrix.Errors;

namespace Sandbox.Matrix.Http;

/// <summary>Request body parsing with the spec's distinction between <c>M_NOT_JSON</c> and <c>M_BAD_JSON</c>.</summary>
internal static class JsonBody
{
    private const int MaxBodyBytes = 1024 * 1024;

    public static async Task<JsonObject> ReadObjectAsync(HttpRequest request, bool allowEmpty = false)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        if (buffer.Length > MaxBodyBytes)
        {
            throw new MatrixException(413, ErrorCodes.TooLarge, "Request body too large");
        }

        if (buffer.Length == 0)
        {
            if (allowEmpty)
            {
                return new JsonObject();
            }

            throw MatrixException.NotJson("Content not JSON.");
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(buffer.ToArray());
        }
        catch (JsonException)
        {
            throw MatrixException.NotJson("Content not JSON.");
        }

        return node as JsonObject ?? throw MatrixException.BadJson("Content must be a JSON object.");
    }

    public static string? OptString(JsonObject obj, string name)
    {
        if (!obj.TryGetPropertyValue(name, out var node) || node is null)
        {
            return null;
        }

        if (node is JsonValue value && value.TryGetValue(out string? s))
        {
            return s;
        }

        throw MatrixException.BadJson($"'{name}' must be a string");
    }

    public static bool OptBool(JsonObject obj, string name)
    {
        if (!obj.TryGetPropertyValue(name, out var node) || node is null)
        {
            return false;
        }

        if (node is JsonValue value && value.TryGetValue(out bool b))
        {
            return b;
        }

        throw MatrixException.BadJson($"'{name}' must be a boolean");
    }

    public static IResult Ok(JsonNode body, int status = 200) =>
        Results.Content(body.ToJsonString(), "application/json", null, status);

    public static IResult Empty() => Ok(new JsonObject());
}
