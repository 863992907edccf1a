using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Bridge.Testing;
using Bridge.Tests.Translation;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Translation through the real daemon: XMPP (real Prosody, slixmpp Alice) writes English, Mattermost (sandbox, Carol)
/// and Matrix (sandbox, Bob) read Spanish. Apertium for real; the HTTP engine is a local stand-in that the test slows down.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class TranslationEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = ThreeNetworks.Long;

    // A generous budget: this test is about what a translation looks like; the budget has its own test.
    private const string Apertium = """
        translation:
          enabled: true
          defaultEngine: ap
          timeout: 00:00:30
          engines:
            ap:
              kind: apertium
        """;

    [Fact]
    public async Task Apertium_english_to_spanish_between_xmpp_and_mattermost_keeps_original_marker_code_mentions_links_and_edits()
    {
        await using var net = await ThreeNetworks.StartAsync(configure: b => b.Language("xmpp", "en").Language("mm", "es").Language("matrix", "es").Raw(Apertium));
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        try
        {
            const string original = "[CUI] Good morning, the dog is black. Ask @bob, see https://example.org/plan and run `make all`";
            var aliceId = await alice.SayConfirmedAsync(original);

            // Mattermost: the translation, the marker leading verbatim, code, mention and link untouched, the original quoted and in props.
            await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("[CUI] ").Count == 1, Long, "Alice's post on Mattermost",
                () => string.Join(" | ", net.Mm.GetPosts(net.MmChannel).Select(p => p.Message)));
            var post = net.MattermostPosts("[CUI] ").Single();
            output.WriteLine(post.Message);
            Assert.StartsWith("[CUI] Buenos días", post.Message, StringComparison.Ordinal);
            Assert.Contains("perro", post.Message, StringComparison.Ordinal);
            var translatedPart = post.Message[..post.Message.IndexOf("\n\n", StringComparison.Ordinal)];
            Assert.Contains("@bob", translatedPart, StringComparison.Ordinal);
            Assert.Contains("https://example.org/plan", translatedPart, StringComparison.Ordinal);
            Assert.Contains("`make all`", translatedPart, StringComparison.Ordinal);
            Assert.Contains("> " + original, post.Message, StringComparison.Ordinal);
            var props = Assert.IsType<JsonObject>(post.Props["bridge_translation"]);
            Assert.Equal(original, (string?)props["original"]);
            Assert.Equal(("en", "es", "ap"), ((string?)props["source_language"], (string?)props["language"], (string?)props["engine"]));

            // Matrix: translated body, the original in the namespaced field and in a collapsible part of the HTML.
            await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("[CUI] ").Count == 1, Long, "Alice's message on Matrix");
            var content = (JsonObject)net.Hs.GetMessages(net.MatrixRoom).Single(e => ((string?)e["content"]?["body"])?.StartsWith("[CUI] ", StringComparison.Ordinal) == true)["content"]!;
            Assert.StartsWith("[CUI] Buenos días", (string?)content["body"], StringComparison.Ordinal);
            Assert.Equal(original, (string?)content["org.bridge.translation"]?["original"]?["body"]);
            Assert.Contains("<details>", (string?)content["formatted_body"], StringComparison.Ordinal);

            // The audit: engine, pair, the hash of both texts.
            var audit = await TranslationAuditAsync(net.DatabasePath);
            var toMm = Assert.Single(audit, a => a.Destination.StartsWith("mm:", StringComparison.Ordinal));
            Assert.Equal(("translated", "ap en>es"), (toMm.Decision, toMm.Rule));
            Assert.Matches("^original:[0-9a-f]{64} translated:[0-9a-f]{64}$", toMm.Hashes);

            // The other direction: Spanish from Mattermost reaches XMPP with one body per language.
            var carolPost = net.CarolSays("El perro es negro.");
            var carolOnXmpp = (await alice.WaitForAsync(ms => ms.Any(m => m.FromNick == "carol"), Long, "Carol's post on XMPP")).First(m => m.FromNick == "carol");
            output.WriteLine(string.Join(" | ", carolOnXmpp.Bodies!.Select(kv => $"{kv.Key}={kv.Value}")));
            Assert.Equal("El perro es negro.", carolOnXmpp.Bodies!["es"]);
            Assert.Contains("dog", carolOnXmpp.Bodies!["en"], StringComparison.OrdinalIgnoreCase);
            Assert.Equal(2, carolOnXmpp.Bodies!.Count);

            // An edit is translated again.
            await alice.CorrectAsync(aliceId, "[CUI] Good night, the cat is white.");
            await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("[CUI] ").Single().Message.Contains("gato", StringComparison.Ordinal), Long,
                "the edit re-translated on Mattermost", () => net.MattermostPosts("[CUI] ").Single().Message);
            var edited = net.MattermostPosts("[CUI] ").Single().Message;
            Assert.StartsWith("[CUI] ", edited, StringComparison.Ordinal);
            Assert.Contains("> [CUI] Good night, the cat is white.", edited, StringComparison.Ordinal);

            // A reaction crosses as a reaction, nothing to translate.
            await alice.ReactAsync(carolOnXmpp.StanzaId ?? carolOnXmpp.Id!, "👍");
            await ThreeNetworks.WaitUntilAsync(() => net.Mm.GetPosts(net.MmChannel).Single(p => p.Id == carolPost.Id).Reactions.Count == 1, Long, "the reaction on Mattermost");
            Assert.DoesNotContain(net.Mm.GetPosts(net.MmChannel), p => !p.IsSystem && p.Message.Contains("👍", StringComparison.Ordinal));
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    [Fact]
    public async Task An_engine_past_its_budget_lets_the_original_through_marked_and_health_and_metrics_show_the_outage()
    {
        var delay = TimeSpan.FromSeconds(10);
        await using var engine = new EngineStandIn(async (path, body) =>
        {
            await Task.Delay(delay);
            return path == "/translate" ? new JsonObject { ["translatedText"] = "ES " + (string?)body["q"] } : null;
        });
        var port = FreePorts.Next();
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { Matrix = false }, b => b
            .Language("xmpp", "en").Language("mm", "es")
            .Raw($"admin:\n  listen: http://127.0.0.1:{port}")
            .Raw($"""
                translation:
                  enabled: true
                  defaultEngine: slow
                  timeout: 00:00:02
                  engines:
                    slow:
                      kind: libretranslate
                      url: '{engine.Url}'
                """));
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        try
        {
            await alice.SayAsync("late one");
            await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("late one").Count == 1, Long, "the original on Mattermost");
            var post = net.MattermostPosts("late one").Single();
            Assert.Equal("late one", post.Message); // the original, no quote
            Assert.Equal(true, (bool?)post.Props["bridge_translation"]?["untranslated"]);

            var health = await GetAsync(http, "/healthz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.Status);
            Assert.Contains("translation engine slow (engine slow exceeded the time budget", health.Body, StringComparison.Ordinal);
            var metrics = await GetAsync(http, "/metrics");
            Assert.Matches(new Regex("""bridge_translation_engine_up\{[^}]*engine="slow"[^}]*\} 0"""), metrics.Body);

            var audit = Assert.Single(await TranslationAuditAsync(net.DatabasePath));
            Assert.Equal("untranslated", audit.Decision);
            Assert.StartsWith("slow en>es: engine slow exceeded the time budget", audit.Rule, StringComparison.Ordinal);
            Assert.Matches("^original:[0-9a-f]{64}$", audit.Hashes);

            // The engine answers again: translated, healthy, up.
            delay = TimeSpan.Zero;
            await alice.SayAsync("on time");
            await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("ES on time").Count == 1, Long, "the translation on Mattermost");
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/healthz")).Status);
            // The Prometheus exporter caches a scrape for a moment: ask until the next one.
            var up = new Regex("""bridge_translation_engine_up\{[^}]*engine="slow"[^}]*\} 1""");
            await ThreeNetworks.WaitUntilAsync(() => up.IsMatch(GetAsync(http, "/metrics").GetAwaiter().GetResult().Body), Long, "the engine up again in /metrics");
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<List<(string Destination, string Decision, string Rule, string Hashes)>> TranslationAuditAsync(string db)
    {
        await using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT destination, decision, rule_id, content_hash FROM audit WHERE kind = 'translation' ORDER BY seq";
        var rows = new List<(string, string, string, string)>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }

        return rows;
    }
}
