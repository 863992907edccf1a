using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Sandbox.Matrix.Appservices;

namespace Sandbox.Matrix.Tests;

/// <summary>Per-test sandbox with an HTTP client and small helpers for raw client-server calls.</summary>
internal sealed class SandboxHarness : IAsyncDisposable
{
    public const string AsToken = "as_secret_token";
    public const string HsToken = "hs_secret_token";

    private SandboxHarness(MatrixSandbox sandbox)
    {
        Sandbox = sandbox;
        Http = new HttpClient { BaseAddress = sandbox.BaseUrl };
    }

    public MatrixSandbox Sandbox { get; }

    public HttpClient Http { get; }

    public static async Task<SandboxHarness> StartAsync(Uri? appserviceUrl = null, Action<MatrixSandboxOptions>? configure = null,
        Action<AppserviceRegistration>? registration = null)
    {
        var options = new MatrixSandboxOptions
        {
            TransactionRetryMin = TimeSpan.FromMilliseconds(50),
            TransactionRetryMax = TimeSpan.FromMilliseconds(400),
            AppserviceRequestTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(options);
        var sandbox = new MatrixSandbox(options);
        var reg = Registration(appserviceUrl);
        registration?.Invoke(reg);
        sandbox.AddAppservice(reg);
        await sandbox.StartAsync();
        return new SandboxHarness(sandbox);
    }

    public static AppserviceRegistration Registration(Uri? url)
    {
        var reg = new AppserviceRegistration
        {
            Id = "bridge",
            Url = url?.ToString(),
            AsToken = AsToken,
            HsToken = HsToken,
            SenderLocalpart = "_bridge_bot",
        };
        reg.Users.Add(new NamespaceEntry { Exclusive = true, Regex = "@_bridge_.*:localhost" });
        reg.Aliases.Add(new NamespaceEntry { Exclusive = true, Regex = "#_bridge_.*:localhost" });
        return reg;
    }

    public async Task<(int Status, JsonObject Body, HttpResponseMessage Response)> CallAsync(HttpMethod method, string path,
        string? token = null, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length > 0 && JsonNode.Parse(text) is JsonObject obj ? obj : new JsonObject();
        return ((int)response.StatusCode, body, response);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Sandbox.DisposeAsync();
    }
}

internal static class JsonExtensions
{
    public static string? Str(this JsonObject obj, string name) => obj[name]?.GetValue<string>();
}
