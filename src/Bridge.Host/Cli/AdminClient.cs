using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Bridge.Host.Cli;

/// <summary>
/// The admin API as the operator verbs (<c>links</c>, <c>deadletters</c>, <c>puppets</c>) call it: base URL from
/// <c>--url</c> or <c>BRIDGE_ADMIN_URL</c>, token from <c>--token</c> or <c>BRIDGE_ADMIN_TOKEN</c> (prefer the variable:
/// arguments show in process listings and shell history).
/// </summary>
internal sealed class AdminClient(Uri baseUrl, string? token, TextWriter output, TextWriter error) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };

    public static Option<string?> UrlOption() => new("--url") { Description = "the admin API's base URL (default: $BRIDGE_ADMIN_URL, else http://127.0.0.1:9480)" };

    public static Option<string?> TokenOption() => new("--token") { Description = "the bearer token (default: $BRIDGE_ADMIN_TOKEN)" };

    public static Option<bool> JsonOption() => new("--json") { Description = "print the API's JSON as is" };

    public static AdminClient From(ParseResult parse, Option<string?> url, Option<string?> token)
    {
        var baseUrl = parse.GetValue(url) ?? Environment.GetEnvironmentVariable("BRIDGE_ADMIN_URL") ?? "http://127.0.0.1:9480";
        return new AdminClient(new Uri(baseUrl.TrimEnd('/') + "/"), parse.GetValue(token) ?? Environment.GetEnvironmentVariable("BRIDGE_ADMIN_TOKEN"),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
    }

    /// <summary>Sends one request; prints the error (status, message, field) and returns null when the API refuses.</summary>
    public Task<JsonElement?> SendAsync(HttpMethod method, string path, CancellationToken cancellationToken) =>
        SendAsync(method, path, null, cancellationToken);

    /// <summary>Sends one request with a JSON body, written as <paramref name="type"/> describes it (<see cref="AdminClientJson"/>).</summary>
    public Task<JsonElement?> SendAsync<T>(HttpMethod method, string path, T body, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        SendAsync(method, path, JsonSerializer.Serialize(body, type), cancellationToken);

    private async Task<JsonElement?> SendAsync(HttpMethod method, string path, string? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (!string.IsNullOrEmpty(token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            await error.WriteLineAsync($"error: cannot reach the admin API at {_http.BaseAddress}: {ex.Message}");
            return null;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonElement? json = null;
            if (text.Length > 0)
            {
                try
                {
                    json = JsonDocument.Parse(text).RootElement.Clone();
                }
                catch (JsonException)
                {
                    // Not JSON (a proxy's page): shown as text below.
                }
            }

            if (!response.IsSuccessStatusCode)
            {
                var message = json is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty("error", out var m) ? m.GetString() : text.Trim();
                var field = json is { ValueKind: JsonValueKind.Object } f && f.TryGetProperty("field", out var fl) && fl.ValueKind == JsonValueKind.String ? $" (field: {fl.GetString()})" : "";
                await error.WriteLineAsync($"error: {(int)response.StatusCode} {response.ReasonPhrase}: {message}{field}");
                return null;
            }

            return json ?? default(JsonElement);
        }
    }

    public void Print(JsonElement json) => output.WriteLine(json.ValueKind == JsonValueKind.Undefined ? "ok" : JsonSerializer.Serialize(json, PrettyJson.Default.JsonElement));

    public TextWriter Output => output;

    public void Dispose() => _http.Dispose();
}

/// <summary><c>links add</c>'s body. Names camelCase, nulls written: as the anonymous object it replaces was written.</summary>
internal sealed record NewLinkBody(string? Id, List<EndpointBody> Endpoints, bool Paused);

/// <summary>An endpoint as <c>links add</c> and <c>links add-endpoint</c> send it.</summary>
internal sealed record EndpointBody(string Network, string Channel);

/// <summary>
/// The CLI's request bodies, generated at build time (trimming, Native AOT): camelCase names, nulls written, compact,
/// as the reflection-based serializer wrote the anonymous objects they replace.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(NewLinkBody))]
[JsonSerializable(typeof(EndpointBody))]
internal sealed partial class AdminClientJson : JsonSerializerContext;

/// <summary>The API's answers as <c>--json</c> prints them: indented, otherwise as received.</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class PrettyJson : JsonSerializerContext;
