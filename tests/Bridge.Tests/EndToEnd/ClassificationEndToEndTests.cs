using System.Text.Json.Nodes;
using Bridge.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// The classification standard through the real daemon, in the coalition setting: Mattermost is mm-a (SECRET, default
/// CUI), Matrix is matrix-b (CUI, default UNCLASSIFIED), Prosody is xmpp-c (UNCLASSIFIED). Real clients send
/// labelled messages in wrapped forms, HTML, a labelled file name, labelled Matrix reaction keys and empty structured
/// labels; each must reach exactly the cleared networks. One fixture, several messages.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ClassificationEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    private const string Policy = """
        policy:
          labels: [UNCLASSIFIED, CUI, SECRET]
          networks:
            mm: { clearance: SECRET, defaultLabel: CUI }
            matrix: { clearance: CUI, defaultLabel: UNCLASSIFIED }
            xmpp: { clearance: UNCLASSIFIED, defaultLabel: UNCLASSIFIED }
        """;

    [Fact]
    public async Task Wrapped_markers_file_names_reaction_keys_and_empty_structured_labels_reach_only_cleared_networks()
    {
        await using var net = await ThreeNetworks.StartAsync(configure: b => b.Raw(Policy));
        // R-K6: a display name with a marker; the name never labels a message and no puppet shows the marker.
        net.Hs.SetDisplayName(net.Bob!.UserId, "[SECRET] Bob");
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        try
        {
            var warm = net.BobSays("warm up");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] warm up"), Long, "Bob's first message on XMPP");
            Assert.Equal("Bob", alice.Messages.Single(m => m.Body == "[UNCLASSIFIED] warm up").FromNick);

            // Wrapped, quoted, look-alike and weak forms from Matrix (default UNCLASSIFIED): each only where cleared.
            var secretForms = new[]
            {
                "**[SECRET]** w1 emphasis",
                "> \"(SECRET)\" w2 quoted parentheses",
                "Re: SECRET//NOFORN w3 caveat banner",
                "- `\u3010\u0405\u0395\u0421R\u0395\u0422\u3011` w4 look-alikes in a code span",
                "\U0001F525 [S3CRET] w5 an ASCII substitution is unknown",
            };
            var cuiForms = new[] { "1. [C\u200BU.I] w6 ordered list", "## cui: w7 heading banner" };
            var ids = new Dictionary<string, string>();
            foreach (var text in secretForms.Concat(cuiForms))
            {
                ids[text] = net.BobSays(text);
            }

            ids["w8 html"] = net.Hs.SendMessage(net.MatrixRoom, net.Bob.UserId, "w8 html", formattedHtml: "<p><em>[SECRET]</em> w8 html</p>");
            ids["w9 file"] = net.Hs.SendEvent(net.MatrixRoom, net.Bob.UserId, "m.room.message", new JsonObject
            {
                ["msgtype"] = "m.file",
                ["body"] = "SECRET_w9_plan.pdf",
                ["url"] = "mxc://localhost/w9",
            });
            ids["w10 reaction"] = net.Hs.SendEvent(net.MatrixRoom, net.Bob.UserId, "m.reaction", new JsonObject
            {
                ["m.relates_to"] = new JsonObject { ["rel_type"] = "m.annotation", ["event_id"] = warm, ["key"] = "[SECRET]" },
            });
            ids["w11 thumbs"] = net.Hs.SendEvent(net.MatrixRoom, net.Bob.UserId, "m.reaction", new JsonObject
            {
                ["m.relates_to"] = new JsonObject { ["rel_type"] = "m.annotation", ["event_id"] = warm, ["key"] = "\U0001F44D" },
            });
            ids["w12 empty content key"] = net.Hs.SendEvent(net.MatrixRoom, net.Bob.UserId, "m.room.message", new JsonObject
            {
                ["msgtype"] = "m.text",
                ["body"] = "w12 empty content key",
                ["org.bridge.classification"] = "",
            });
            var emptyProp = net.Mm.Post(net.Carol!.Id, net.MmChannel, "w13 empty props", props: new JsonObject { ["classification"] = "" });
            net.BobSays("w-last");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] w-last"), Long, "the last plain message on XMPP");

            // Every decision is audited when the event is ingested: read them from the bridge's database.
            string Decision(string network, string nativeId, string destination) => AuditDecision(net.DatabasePath, $"{network}/{nativeId}", destination);
            foreach (var text in secretForms)
            {
                Assert.Equal(("blocked", "SECRET"), Split(Decision("matrix", ids[text], "xmpp")));
                Assert.Equal(("delivered", "SECRET"), Split(Decision("matrix", ids[text], "mm")));
            }

            foreach (var text in cuiForms)
            {
                Assert.Equal(("blocked", "CUI"), Split(Decision("matrix", ids[text], "xmpp")));
                Assert.Equal(("delivered", "CUI"), Split(Decision("matrix", ids[text], "mm")));
            }

            Assert.Equal(("blocked", "SECRET"), Split(Decision("matrix", ids["w8 html"], "xmpp")));
            Assert.Equal(("blocked", "SECRET"), Split(Decision("matrix", ids["w9 file"], "xmpp")));
            Assert.Equal(("blocked", "SECRET"), Split(Decision("matrix", ids["w10 reaction"], "xmpp")));
            Assert.Equal(("delivered", "SECRET"), Split(Decision("matrix", ids["w10 reaction"], "mm")));
            Assert.Equal(("delivered", "UNCLASSIFIED"), Split(Decision("matrix", ids["w11 thumbs"], "xmpp")));
            Assert.Equal(("blocked", "SECRET"), Split(Decision("matrix", ids["w12 empty content key"], "xmpp")));
            Assert.Equal(("delivered", "SECRET"), Split(Decision("matrix", ids["w12 empty content key"], "mm")));
            Assert.Equal(("blocked", "SECRET"), Split(Decision("mm", emptyProp.Id, "matrix")));
            Assert.Equal(("blocked", "SECRET"), Split(Decision("mm", emptyProp.Id, "xmpp")));

            // What people saw: Mattermost got every form, with the visible label added unless a known token of that label
            // already starts the text (so never twice); XMPP none of them.
            var expectedOnMattermost = new[]
            {
                "**[SECRET]** w1 emphasis",
                "[SECRET] > \"(SECRET)\" w2 quoted parentheses",
                "[SECRET] Re: SECRET//NOFORN w3 caveat banner",
                "- `\u3010\u0405\u0395\u0421R\u0395\u0422\u3011` w4 look-alikes in a code span",
                "[SECRET] \U0001F525 [S3CRET] w5 an ASCII substitution is unknown",
                "1. [C\u200BU.I] w6 ordered list",
                "[CUI] ## cui: w7 heading banner",
                // The Matrix HTML arrives as Markdown (docs/formatting.md); its emphasised marker shows the label already.
                "*[SECRET]* w8 html",
                "[SECRET] w12 empty content key",
            };
            await ThreeNetworks.WaitUntilAsync(() => expectedOnMattermost.All(m => net.Mm.GetPosts(net.MmChannel).Any(p => p.Message == m)), Long,
                "the labelled messages on Mattermost", () => string.Join(" | ", net.Mm.GetPosts(net.MmChannel).Select(p => p.Message)));
            await Task.Delay(1500); // anything wrongly routed to XMPP would have arrived with or before w-last
            Assert.DoesNotContain(alice.Messages, m => m.Body.Contains(" w", StringComparison.Ordinal) && !m.Body.EndsWith("w-last", StringComparison.Ordinal)
                && !m.Body.EndsWith("warm up", StringComparison.Ordinal));
            Assert.DoesNotContain(alice.Messages, m => m.Body.Contains("SECRET", StringComparison.Ordinal) || m.FromNick.Contains('['));
            Assert.DoesNotContain(net.MatrixMessages(""), m => m.Body.Contains("w13", StringComparison.Ordinal));
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    private static (string Decision, string Label) Split(string row)
    {
        var parts = row.Split('|');
        return (parts[0], parts[1]);
    }

    /// <summary>"decision|label" of the audit record of one event toward one network ("none" when there is none).</summary>
    private static string AuditDecision(string db, string eventKey, string destinationNetwork)
    {
        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT decision || '|' || label FROM audit WHERE event_key = $k AND destination LIKE $d ORDER BY seq LIMIT 1";
        cmd.Parameters.AddWithValue("$k", eventKey);
        cmd.Parameters.AddWithValue("$d", destinationNetwork + ":%");
        return cmd.ExecuteScalar() as string ?? "none|none";
    }
}
