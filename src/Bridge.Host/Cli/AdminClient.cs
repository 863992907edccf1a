using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Bridge.Host.Cli;

/// <summary>
/// The admin API as the operator verbs (<c>links</c>, <c>deadletters</c>, <c>puppets</c>) call it: base URL from
/// <c>--url</c> or <c>BRIDGE_ADMIN_URL</c>, token from <c>--token</c> or <c>BRIDGE_ADMIN_TOKEN</c> (prefer the variable:
/// arguments show in process listings and shell history).
/// </summary>
internal sealed class AdminClient(Uri baseUrl, string? token, TextWriter output, TextWriter error) : IDisposable
{
    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };
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
    public async Task<JsonElement?> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (!string.IsNullOrEmpty(token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
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

    public void Print(JsonElement json) => output.WriteLine(json.ValueKind == JsonValueKind.Undefined ? "ok" : JsonSerializer.Serialize(json, Pretty));

    public TextWriter Output => output;

    public void Dispose() => _http.Dispose();
}
