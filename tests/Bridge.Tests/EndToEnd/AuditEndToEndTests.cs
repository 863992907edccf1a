using System.Text;
using System.Text.Json.Nodes;
using Bridge.Core.Audit;
using Bridge.Core.Storage.Sqlite;
using Bridge.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// The audit trail through the real daemon between three Prosody servers: a delivery skipped after its decision gets
/// an outcome record, and the keyed chain catches a whole-table rewrite that a plain hash chain cannot, checked with
/// the <c>bridge</c> executable as an operator would.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class AuditEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    private static readonly string Policy = $"""
        policy:
          labels: {ThreeOrganisations.Labels}
        """;

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_skipped_edit_is_recorded_and_a_rechained_rewrite_of_the_keyed_trail_is_detected_by_verify()
    {
        await using var orgs = await ThreeOrganisations.StartAsync(Policy);
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        var carol = await orgs.CarolAsync();
        try
        {
            // SECRET from Bravo reaches Alpha only. Bravo then corrects it to unmarked text: that edit is cleared for
            // Charlie, but Charlie never had the message, so the worker skips it there, after the policy said "delivered".
            var secretId = await bob.SayConfirmedAsync("[SECRET] s-9 grid 999");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body.Contains("s-9 grid 999", StringComparison.Ordinal)), Long, "the SECRET message at Alpha");
            await bob.CorrectAsync(secretId, "typo fixed");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body.Contains("typo fixed", StringComparison.Ordinal)), Long, "the correction at Alpha");
            await bob.SayAsync("after the edit");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body.Contains("after the edit", StringComparison.Ordinal)), Long, "the later message at Charlie");
            Assert.DoesNotContain(carol.Messages, m => m.Body.Contains("typo fixed", StringComparison.Ordinal) || m.Body.Contains("s-9", StringComparison.Ordinal));

            IReadOnlyList<JsonObject> records = [];
            var deadline = DateTime.UtcNow + Long;
            JsonObject? skip = null;
            while (skip is null && DateTime.UtcNow < deadline)
            {
                records = await orgs.ExportAuditAsync();
                skip = records.FirstOrDefault(r => (string?)r["kind"] == "outcome" && (string?)r["decision"] == "skipped"
                                                   && ((string?)r["destination"])!.StartsWith("org-c:", StringComparison.Ordinal));
                if (skip is null)
                {
                    await Task.Delay(200);
                }
            }

            output.WriteLine(string.Join('\n', records.Select(r => r.ToJsonString())));
            Assert.NotNull(skip);
            Assert.StartsWith("target-not-delivered", (string?)skip["ruleId"], StringComparison.Ordinal);
            var decision = Assert.Single(records, r => (string?)r["kind"] == "decision" && (string?)r["eventKey"] == (string?)skip["eventKey"]
                                                       && (string?)r["destination"] == (string?)skip["destination"]);
            Assert.Equal("delivered", (string?)decision["decision"]);
            Assert.Equal("typo fixed", (string?)decision["content"]);
            Assert.Equal("skipped", (string?)decision["outcome"]);
            Assert.Equal((string?)decision["link"], (string?)skip["link"]);
            Assert.True((long)decision["seq"]! < (long)skip["seq"]!);
            Assert.Contains(records, r => (string?)r["kind"] == "decision" && (string?)r["content"] == "after the edit" && (string?)r["outcome"] == "delivered");
            Assert.Equal("keyed-from", (string?)records[0]["decision"]);
            Assert.All(records, r => Assert.False(string.IsNullOrEmpty((string?)r["keyId"])));

            var ok = await orgs.CliAsync("audit", "verify");
            Assert.True(ok.ExitCode == 0, $"verify exited {ok.ExitCode}: {ok.Stdout}{ok.Stderr}");
            Assert.Contains("keyed from record 1", ok.Stdout, StringComparison.Ordinal);
            Assert.Equal(0, await bridge.TerminateAsync(TimeSpan.FromSeconds(30)));

            // The database and its WAL/SHM were created private to the bridge's user.
            foreach (var file in new[] { orgs.DatabasePath, orgs.DatabasePath + "-wal", orgs.DatabasePath + "-shm" }.Where(File.Exists))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }

            // Without the key, verify cannot check the MACs and says so loudly, with its own exit code.
            orgs.AuditKeyOverride = "";
            await orgs.WriteConfigAsync(Policy);
            var unkeyed = await orgs.CliAsync("audit", "verify");
            Assert.Equal(5, unkeyed.ExitCode);
            Assert.Contains("WARNING", unkeyed.Stderr, StringComparison.Ordinal);
            Assert.Contains("NOT checked", unkeyed.Stderr, StringComparison.Ordinal);
            orgs.AuditKeyOverride = null;
            await orgs.WriteConfigAsync(Policy);

            // Someone with write access to the database turns the block toward Charlie into a delivery and recomputes
            // every plain SHA-256 hash down the chain, so the table is a consistent plain chain again.
            var blocked = records.First(r => (string?)r["kind"] == "decision" && (string?)r["decision"] == "blocked");
            await RechainAsync(orgs.DatabasePath, (long)blocked["seq"]!);

            var broken = await orgs.CliAsync("audit", "verify");
            Assert.Equal(4, broken.ExitCode);
            Assert.Contains("no record is keyed", broken.Stderr, StringComparison.Ordinal);
            var exported = await orgs.ExportAuditAsync();
            Assert.Equal("delivered", (string?)exported.Single(r => (long)r["seq"]! == (long)blocked["seq"]!)["decision"]);
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    /// <summary>Rewrites one decision and recomputes the whole chain as plain SHA-256 hashes, directly in SQLite.</summary>
    private static async Task RechainAsync(string databasePath, long sequence)
    {
        IReadOnlyList<Bridge.Core.Storage.AuditRecord> records;
        await using (var store = new SqliteBridgeStore(new SqliteStoreOptions { Path = databasePath }, NullLogger<SqliteBridgeStore>.Instance))
        {
            await store.MigrateAsync(default);
            records = await store.ReadAuditAsync(0, null, 100_000, default);
        }

        var sql = new StringBuilder("DROP TRIGGER audit_no_update;");
        var prev = AuditChain.Genesis;
        foreach (var r in records)
        {
            var entry = r.Sequence == sequence ? r.Entry with { Decision = "delivered", RuleId = "" } : r.Entry;
            var hash = AuditChain.ComputeHash(prev, r.Sequence, entry);
            sql.Append($" UPDATE audit SET decision = '{entry.Decision}', rule_id = '{entry.RuleId.Replace("'", "''", StringComparison.Ordinal)}', prev_hash = '{prev}', hash = '{hash}', key_id = '' WHERE seq = {r.Sequence};");
            prev = hash;
        }

        await using var db = new SqliteConnection($"Data Source={databasePath};Pooling=False");
        await db.OpenAsync();
        await using var cmd = db.CreateCommand();
        cmd.CommandText = sql.ToString();
        await cmd.ExecuteNonQueryAsync();
    }
}
