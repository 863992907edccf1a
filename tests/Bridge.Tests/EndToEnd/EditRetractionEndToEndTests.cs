using System.Text.Json.Nodes;
using Bridge.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// R-K2 across all three protocols: a Mattermost post that reached XMPP and Matrix as UNCLASSIFIED is edited to SECRET;
/// neither is cleared for it, so the copies are retracted there (XEP-0424 on XMPP, a redaction on Matrix).
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class EditRetractionEndToEndTests(ITestOutputHelper output)
{
    private const string Policy = """
        policy:
          labels: [UNCLASSIFIED, CUI, SECRET]
          networks:
            mm: { clearance: SECRET, defaultLabel: UNCLASSIFIED }
            matrix: { clearance: CUI }
            xmpp: { clearance: UNCLASSIFIED }
        """;

    [Fact]
    public async Task A_mattermost_edit_raised_to_secret_retracts_the_xmpp_and_matrix_copies()
    {
        await using var net = await ThreeNetworks.StartAsync(configure: b => b.Raw(Policy));
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        try
        {
            var post = net.CarolSays("grid 4711");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] grid 4711"), ThreeNetworks.Long, "the post on XMPP");
            await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("[UNCLASSIFIED] grid 4711").Count == 1, ThreeNetworks.Long, "the post on Matrix");
            var matrixCopy = MatrixEventId(net, "[UNCLASSIFIED] grid 4711");

            net.Mm.EditPost(net.Carol!.Id, post.Id, "[SECRET] grid 4711");

            await alice.WaitForAsync(ms => ms.Any(m => m.Body.Contains("retract", StringComparison.Ordinal)), ThreeNetworks.Long, "the retraction on XMPP");
            await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetTimeline(net.MatrixRoom).Any(e => (string?)e["type"] == "m.room.redaction" && (string?)e["redacts"] == matrixCopy),
                ThreeNetworks.Long, "the redaction on Matrix");

            // A later post still flows, so anything of the edit would have arrived by now.
            net.CarolSays("after");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] after"), ThreeNetworks.Long, "the later post on XMPP");
            await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("[UNCLASSIFIED] after").Count == 1, ThreeNetworks.Long, "the later post on Matrix");

            Assert.DoesNotContain(alice.Messages, m => m.Body.Contains("SECRET", StringComparison.Ordinal));
            Assert.Empty(net.MatrixMessages("[UNCLASSIFIED] grid 4711")); // the copy's content is gone
            Assert.DoesNotContain(net.Hs.GetTimeline(net.MatrixRoom), e => e.ToJsonString().Contains("SECRET", StringComparison.Ordinal));

            var retracted = await RetractionsAsync(net.DatabasePath);
            Assert.Equal(["matrix:retracted:clearance:SECRET", "xmpp:retracted:clearance:SECRET"], retracted);
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    private static string MatrixEventId(ThreeNetworks net, string body) =>
        (string)net.Hs.GetMessages(net.MatrixRoom).Single(e => (string?)(e["content"] as JsonObject)?["body"] == body)["event_id"]!;

    private static async Task<List<string>> RetractionsAsync(string db)
    {
        await using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT destination, decision, rule_id, label FROM audit WHERE kind = 'decision' AND decision = 'retracted' ORDER BY destination";
        var rows = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add($"{reader.GetString(0).Split(':')[0]}:{reader.GetString(1)}:{reader.GetString(2)}:{reader.GetString(3)}");
        }

        return rows;
    }
}
