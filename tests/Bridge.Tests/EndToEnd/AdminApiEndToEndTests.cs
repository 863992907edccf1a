using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Bridge.Host.Admin.Access;
using Bridge.Testing;
using Bridge.Tests.HostTests;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// The admin API against the real daemon between two real Prosody servers: a link made through the API carries
/// messages at once, a paused link holds them and delivers them in order on resume, a removed endpoint's pending rows
/// become dead letters with the reason, and a dead letter retried is delivered.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class AdminApiEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);
    private const string OperatorToken = "e2e-operator-token-0123456789abcdef";
    private const string ViewerToken = "e2e-viewer-token-0123456789abcdef";

    [Fact]
    public async Task A_link_added_paused_resumed_and_changed_through_the_api_works_live()
    {
        var port = FreePorts.Next();
        await using var orgs = await TwoOrganisations.StartAsync(async () => await ProsodyServer.StartAsync("a.localhost"), async () => await ProsodyServer.StartAsync("b.localhost"),
            c => c.Raw($$"""
                admin:
                  listen: http://127.0.0.1:{{port}}
                  tokens:
                    ops-alice: { hash: "{{TokenHash.Of(OperatorToken)}}", role: operator }
                    console: { hash: "{{TokenHash.Of(ViewerToken)}}", role: viewer }
                """), output);
        await orgs.StartBridgeAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(20) };
        await AdminApiProbe.WaitForHealthAsync(http, Long);

        var roomA = orgs.A.Room("api-ops");
        var roomB = orgs.B.Room("api-ops");
        var roomB2 = orgs.B.Room("api-ops-2");
        var create = new { id = "api-ops", endpoints = new[] { new { network = "org-a", channel = roomA }, new { network = "org-b", channel = roomB } } };

        // No token: 401; a viewer: 403; both audited by the daemon.
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Post, "/api/links", create, token: null)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(http, HttpMethod.Post, "/api/links", create, ViewerToken)).Status);

        // Bad input: the field at fault is named and nothing is created.
        var unknownNetwork = await SendAsync(http, HttpMethod.Post, "/api/links",
            new { id = "bad", endpoints = new[] { new { network = "org-a", channel = roomA }, new { network = "nowhere", channel = roomB } } }, OperatorToken);
        Assert.Equal(HttpStatusCode.BadRequest, unknownNetwork.Status);
        Assert.Equal("endpoints[1].network", unknownNetwork.Json.GetProperty("field").GetString());
        var malformed = await SendRawAsync(http, HttpMethod.Post, "/api/links", "{\"id\": \"bad\", \"endpoints\": [", OperatorToken);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.Status);
        var fileLink = await SendAsync(http, HttpMethod.Post, "/api/links/ops/pause", null, OperatorToken);
        Assert.Equal(HttpStatusCode.Conflict, fileLink.Status);
        Assert.Contains("configuration file", fileLink.Json.GetProperty("error").GetString(), StringComparison.Ordinal);

        // Add the link: 201, then a message crosses.
        var created = await SendAsync(http, HttpMethod.Post, "/api/links", create, OperatorToken);
        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal("api", created.Json.GetProperty("source").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await SendAsync(http, HttpMethod.Post, "/api/links", create, OperatorToken)).Status);
        var clash = await SendAsync(http, HttpMethod.Post, "/api/links",
            new { id = "clash", endpoints = new[] { new { network = "org-a", channel = orgs.RoomA }, new { network = "org-b", channel = roomB2 } } }, OperatorToken);
        Assert.Equal(HttpStatusCode.Conflict, clash.Status);
        Assert.Equal("endpoints[0].channel", clash.Json.GetProperty("field").GetString());

        var alice = await XmppPerson.JoinAsync(orgs.A, "alice", "alicepass", roomA, "Alice");
        var bob = await XmppPerson.JoinAsync(orgs.B, "bob", "bobpass", roomB, "Bob");
        await using var aliceScope = alice;
        await using var bobScope = bob;
        // The bot joins the new rooms in the background: say hello until the first one crosses.
        var crossed = DateTime.UtcNow + Long;
        for (var i = 0; !bob.Messages.Any(m => m.Body.StartsWith("hello-", StringComparison.Ordinal)); i++)
        {
            Assert.True(DateTime.UtcNow < crossed, "no message crossed the link made through the API");
            await alice.SayAsync($"hello-{i}");
            await Task.Delay(1000);
        }

        // Pause: the next message waits in the outbox.
        var paused = await SendAsync(http, HttpMethod.Post, "/api/links/api-ops/pause", null, OperatorToken);
        Assert.True(paused.Json.GetProperty("paused").GetBoolean());
        for (var i = 0; i < 3; i++)
        {
            await alice.SayAsync($"held-{i}");
        }

        await ThreeNetworks.WaitForPendingAsync(orgs.DatabasePath, "org-b", 3);
        await Task.Delay(2000);
        Assert.DoesNotContain(bob.Messages, m => m.Body.StartsWith("held-", StringComparison.Ordinal));

        // Resume: they arrive, in order, once.
        await SendAsync(http, HttpMethod.Post, "/api/links/api-ops/resume", null, OperatorToken);
        await bob.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith("held-", StringComparison.Ordinal)) == 3, Long, "the three held messages");
        XmppConversation.AssertExactlyInOrder(bob.Messages, "held-", "Alice");

        // A third room: added live, then removed while it has pending rows: they become dead letters with the reason.
        var added = await SendAsync(http, HttpMethod.Post, "/api/links/api-ops/endpoints", new { network = "org-b", channel = roomB2 }, OperatorToken);
        Assert.Equal(HttpStatusCode.OK, added.Status);
        Assert.Equal(3, added.Json.GetProperty("endpoints").GetArrayLength());
        await SendAsync(http, HttpMethod.Post, "/api/links/api-ops/pause", null, OperatorToken);
        await alice.SayAsync("to-the-third-room");
        await ThreeNetworks.WaitForPendingAsync(orgs.DatabasePath, "org-b", 2);
        var removed = await SendAsync(http, HttpMethod.Delete, $"/api/links/api-ops/endpoints?network=org-b&channel={Uri.EscapeDataString(roomB2)}", null, OperatorToken);
        Assert.Equal(HttpStatusCode.OK, removed.Status);
        await ThreeNetworks.WaitForPendingAsync(orgs.DatabasePath, "org-b", 1);
        var letters = (await SendAsync(http, HttpMethod.Get, "/api/deadletters", null, ViewerToken)).Json;
        var letter = Assert.Single(letters.EnumerateArray());
        Assert.Equal(roomB2, letter.GetProperty("channel").GetString());
        Assert.StartsWith("endpoint-removed", letter.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains("ops-alice", letter.GetProperty("reason").GetString(), StringComparison.Ordinal);
        await SendAsync(http, HttpMethod.Post, "/api/links/api-ops/resume", null, OperatorToken);
        await bob.WaitForAsync(ms => ms.Any(m => m.Body == "to-the-third-room"), Long, "the message held for the room that stayed");

        // The room comes back and the dead letter is retried: delivered there, through the CLI.
        await SendAsync(http, HttpMethod.Post, "/api/links/api-ops/endpoints", new { network = "org-b", channel = roomB2 }, OperatorToken);
        await orgs.B.RegisterAsync("carol", "carolpass");
        var carol = await XmppPerson.JoinAsync(orgs.B, "carol", "carolpass", roomB2, "Carol", history: 20);
        await using var carolScope = carol;
        var (code, cliOut, cliError) = await CliAsync(port, "deadletters", "retry", letter.GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(code == 0, cliError);
        Assert.Contains("pending", cliOut, StringComparison.Ordinal);
        await carol.WaitForAsync(ms => ms.Any(m => m.Body == "to-the-third-room"), Long, "the retried dead letter");
        Assert.Empty((await SendAsync(http, HttpMethod.Get, "/api/deadletters", null, ViewerToken)).Json.EnumerateArray());

        // The CLI lists file and API links; who changed what is in the audit trail.
        var (listCode, list, _) = await CliAsync(port, "links", "list");
        Assert.Equal(0, listCode);
        Assert.Contains("ops\tfile\tactive", list, StringComparison.Ordinal);
        Assert.Contains("api-ops\tapi\tactive", list, StringComparison.Ordinal);
        // A link made, shown and removed through the CLI: its request bodies and its indented --json output.
        var (addCode, _, addError) = await CliAsync(port, "links", "add", "cli-made", "-e", $"org-a={orgs.A.Room("cli-made")}", "-e", $"org-b={orgs.B.Room("cli-made")}", "--paused");
        Assert.True(addCode == 0, addError);
        var (showCode, shown, _) = await CliAsync(port, "links", "show", "cli-made");
        Assert.Equal(0, showCode);
        Assert.Contains("\n  \"paused\": true,\n", shown.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains($"\"channel\": \"{orgs.B.Room("cli-made")}\"", shown, StringComparison.Ordinal);
        Assert.Equal(0, (await CliAsync(port, "links", "remove", "cli-made")).Code);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(http, HttpMethod.Get, "/api/links/cli-made", null, ViewerToken)).Status);

        var puppets = (await SendAsync(http, HttpMethod.Get, "/api/networks/org-b/puppets", null, ViewerToken)).Json;
        Assert.Contains(puppets.EnumerateArray(), p => p.GetProperty("channels").EnumerateArray().Any(c => c.GetString() == roomB));
        output.WriteLine($"link crossed, held 3, resumed in order; dead letter: {letter}");
    }

    /// <summary>
    /// The CLI: in this process, or, when BRIDGE_TEST_DAEMON names another build of the daemon (e.g. a Native AOT
    /// publish), that build's own CLI, so that its admin client is the one tested.
    /// </summary>
    private static async Task<(int Code, string Output, string Error)> CliAsync(int port, params string[] args)
    {
        if (Environment.GetEnvironmentVariable("BRIDGE_TEST_DAEMON") is { Length: > 0 } daemon)
        {
            var start = new System.Diagnostics.ProcessStartInfo(daemon) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in (string[])[.. args, "--url", $"http://127.0.0.1:{port}"])
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["BRIDGE_ADMIN_TOKEN"] = OperatorToken;
            using var process = System.Diagnostics.Process.Start(start)!;
            var (stdout, stderr) = (process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await stdout, await stderr);
        }

        Environment.SetEnvironmentVariable("BRIDGE_ADMIN_TOKEN", OperatorToken);
        try
        {
            return await CheckConfigTests.RunAsync([.. args, "--url", $"http://127.0.0.1:{port}"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable("BRIDGE_ADMIN_TOKEN", null);
        }
    }

    private static Task<(HttpStatusCode Status, JsonElement Json)> SendAsync(HttpClient http, HttpMethod method, string path, object? body, string? token) =>
        SendRawAsync(http, method, path, body is null ? null : JsonSerializer.Serialize(body), token);

    private static async Task<(HttpStatusCode Status, JsonElement Json)> SendRawAsync(HttpClient http, HttpMethod method, string path, string? body, string? token)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }
}
