using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Bridge.Core.Links;
using Microsoft.AspNetCore.Http;

namespace Bridge.Host.Admin.Api;

/// <summary><c>POST /api/links</c>.</summary>
internal sealed record CreateLinkRequest
{
    public string? Id { get; init; }
    public List<EndpointSpec>? Endpoints { get; init; }
    public string? Translation { get; init; }
    public bool Paused { get; init; }
}

/// <summary><c>PATCH /api/links/{id}</c>: what is given replaces what the link has; what is left out stays.</summary>
internal sealed record UpdateLinkRequest
{
    public List<EndpointSpec>? Endpoints { get; init; }
    public string? Translation { get; init; }
    public bool? Paused { get; init; }
}

/// <summary>Reads a request body strictly: bounded size, no unknown fields, errors naming the field.</summary>
internal static class RequestBody
{
    private const int MaxBytes = 64 * 1024;

    /// <summary>Reads <typeparamref name="T"/> as <paramref name="bodyType"/> describes it (<see cref="AdminRequestJsonContext"/>: strict).</summary>
    public static async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> bodyType, CancellationToken cancellationToken)
        where T : class
    {
        if (request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw new LinkChangeException(415, "the body must be JSON (Content-Type: application/json)", "Content-Type");
        }

        if (request.ContentLength > MaxBytes)
        {
            throw new LinkChangeException(413, $"the body is larger than {MaxBytes} bytes");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                throw new LinkChangeException(413, $"the body is larger than {MaxBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            return JsonSerializer.Deserialize(buffer.ToArray(), bodyType) ?? throw new LinkChangeException(400, "the body must be a JSON object");
        }
        catch (JsonException ex)
        {
            // The serializer names the place ($.endpoints[1].network); its message may quote the input, so it is not passed on.
            var field = ex.Path is { Length: > 2 } path ? path.TrimStart('$', '.') : null;
            var what = ex.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "unknown field" : "malformed JSON or a value of the wrong type";
            throw new LinkChangeException(400, field is null ? what : $"{what} at {field}", field);
        }
    }
}
