using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Bridge.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// The sharing policy through the whole daemon, between three real Prosody servers (three organisations) with real
/// slixmpp people: labels against clearances, the sender's notice, the audit trail as an operator exports and verifies
/// it with the <c>bridge</c> executable, information barriers, and policy reloads while running.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class PolicyEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    /// <summary>How long to keep listening for something that must not arrive, after a later message did arrive.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1.5);

    private static readonly string BasePolicy = $"""
        policy:
          labels: {ThreeOrganisations.Labels}
        """;

    [Fact]
    public async Task Labelled_messages_reach_only_cleared_networks_the_sender_is_told_and_the_audit_trail_records_and_verifies_it()
    {
        await using var orgs = await ThreeOrganisations.StartAsync(BasePolicy);
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        var carol = await orgs.CarolAsync();
        try
        {
            // Unmarked: UNCLASSIFIED, so everyone gets it, with the visible marker.
            await alice.SayAsync("morning all");
            await bob.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] morning all" && m.FromNick == "Alice"), Long, "Alice's unmarked message");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] morning all" && m.FromNick == "Alice"), Long, "Alice's unmarked message");

            // SECRET from Bravo: only Alpha (cleared SECRET) gets it.
            await bob.SayAsync("[SECRET] s-1 grid 123");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body == "[SECRET] s-1 grid 123" && m.FromNick == "Bob"), Long, "Bob's SECRET message");
            var bobNotice = await bob.WaitForPrivateAsync(ps => ps.Any(p => p.Body.Contains("org-c", StringComparison.Ordinal)), Long, "the notice about org-c");

            // CUI from Alpha: Bravo (CUI) gets it, Charlie (UNCLASSIFIED) does not.
            await alice.SayAsync("[CUI] c-1 convoy at 0600");
            await bob.WaitForAsync(ms => ms.Any(m => m.Body == "[CUI] c-1 convoy at 0600" && m.FromNick == "Alice"), Long, "Alice's CUI message");
            var aliceNotice = await alice.WaitForPrivateAsync(ps => ps.Any(p => p.Body.Contains("org-c", StringComparison.Ordinal)), Long, "the notice about org-c");

            // Later messages from the same senders reach Charlie, so the earlier ones were routed (and not to Charlie).
            await bob.SayAsync("b after secret");
            await alice.SayAsync("a after cui");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] b after secret") && ms.Any(m => m.Body == "[UNCLASSIFIED] a after cui"), Long, "the later messages");
            await Task.Delay(Settle);

            Assert.DoesNotContain(carol.Messages, m => m.Body.Contains("s-1", StringComparison.Ordinal) || m.Body.Contains("c-1", StringComparison.Ordinal));
            Assert.DoesNotContain(alice.Messages, m => m.Body.Contains("c-1", StringComparison.Ordinal) && m.FromNick != "Alice");
            Assert.Equal(1, alice.Messages.Count(m => m.Body.Contains("s-1", StringComparison.Ordinal)));

            // The notice is a MUC private message from the bridge's bot in the sender's own room, naming only the
            // destination network and the rule; exactly one per event, nothing about destinations that got it.
            var expectedNotice = "Your message was not shared with network 'org-c' (rule: clearance).";
            Assert.Equal(expectedNotice, Assert.Single(bobNotice).Body);
            Assert.Equal($"{orgs.RoomB}/bridge", bobNotice[0].From);
            Assert.Equal(expectedNotice, Assert.Single(aliceNotice).Body);
            Assert.Equal($"{orgs.RoomA}/bridge", aliceNotice[0].From);
            Assert.Empty(carol.PrivateMessages);

            // The audit trail, exported by the operator's tool while the daemon runs.
            var records = await orgs.ExportAuditAsync();
            output.WriteLine(string.Join('\n', records.Select(r => r.ToJsonString())));
            var secret = Decisions(records, "[SECRET] s-1 grid 123");
            Assert.Equal(2, secret.Count);
            AssertDecision(secret, "org-a", "delivered", "SECRET", rule: null);
            AssertDecision(secret, "org-c", "blocked", "SECRET", rule: "clearance");
            Assert.All(secret, r => Assert.Equal("org-b", (string?)r["sourceNetwork"]));
            var cui = Decisions(records, "[CUI] c-1 convoy at 0600");
            Assert.Equal(2, cui.Count);
            AssertDecision(cui, "org-b", "delivered", "CUI", rule: null);
            AssertDecision(cui, "org-c", "blocked", "CUI", rule: "clearance");
            Assert.All(cui, r => Assert.Equal("ops", (string?)r["link"]));
            var plain = Decisions(records, "morning all");
            AssertDecision(plain, "org-b", "delivered", "UNCLASSIFIED", rule: null);
            AssertDecision(plain, "org-c", "delivered", "UNCLASSIFIED", rule: null);
            for (var i = 1; i < records.Count; i++)
            {
                Assert.Equal((long)records[i - 1]["seq"]! + 1, (long)records[i]["seq"]!);
                Assert.Equal((string?)records[i - 1]["hash"], (string?)records[i]["prevHash"]);
            }

            var ok = await orgs.CliAsync("audit", "verify");
            Assert.True(ok.ExitCode == 0, $"verify exited {ok.ExitCode}: {ok.Stdout}{ok.Stderr}");
            Assert.Contains($"audit trail ok: {records.Count} records", ok.Stdout, StringComparison.Ordinal);

            // Someone with database access turns the block toward Charlie into a delivery.
            Assert.Equal(0, await bridge.TerminateAsync(TimeSpan.FromSeconds(30)));
            var tampered = (long)secret.Single(r => ((string?)r["destination"])!.StartsWith("org-c:", StringComparison.Ordinal))["seq"]!;
            await using (var db = new SqliteConnection($"Data Source={orgs.DatabasePath};Pooling=False"))
            {
                await db.OpenAsync();
                var refused = await Assert.ThrowsAsync<SqliteException>(() => ExecAsync(db, $"UPDATE audit SET decision = 'delivered' WHERE seq = {tampered}"));
                Assert.Contains("append-only", refused.Message, StringComparison.Ordinal);
                await ExecAsync(db, "DROP TRIGGER audit_no_update");
                Assert.Equal(1, await ExecAsync(db, $"UPDATE audit SET decision = 'delivered' WHERE seq = {tampered}"));
            }

            var broken = await orgs.CliAsync("audit", "verify");
            Assert.NotEqual(0, broken.ExitCode);
            Assert.Contains($"BROKEN at record {tampered}:", broken.Stderr, StringComparison.Ordinal);
            Assert.Contains("altered", broken.Stderr, StringComparison.Ordinal);
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    [Fact]
    public async Task Across_a_barrier_no_message_puppet_or_display_name_ever_appears()
    {
        await using var orgs = await ThreeOrganisations.StartAsync(BasePolicy + """

              barriers:
                - [Bravo, Charlie]
            """);
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        var carol = await orgs.CarolAsync();
        try
        {
            await alice.SayAsync("hello from alpha");
            await bob.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] hello from alpha"), Long, "Alice's greeting");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] hello from alpha"), Long, "Alice's greeting");

            await bob.SayAsync("bravo plan");
            await carol.SayAsync("charlie status");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] bravo plan" && m.FromNick == "Bob"), Long, "Bob's message");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] charlie status" && m.FromNick == "Carol"), Long, "Carol's message");

            // Both speak again, and Alpha's next message reaches both: anything crossing the barrier would be there by now.
            await bob.SayAsync("bravo again");
            await carol.SayAsync("charlie again");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body.EndsWith("bravo again", StringComparison.Ordinal)) && ms.Any(m => m.Body.EndsWith("charlie again", StringComparison.Ordinal)), Long, "the second messages");
            await alice.SayAsync("alpha closing");
            await bob.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] alpha closing"), Long, "Alice's closing message");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] alpha closing"), Long, "Alice's closing message");
            await Task.Delay(Settle);

            // Alpha's room shows both puppets: they do exist, and the barrier is the only reason the others see none.
            Assert.Contains(alice.Presences, p => p is ("Bob", "available"));
            Assert.Contains(alice.Presences, p => p is ("Carol", "available"));
            AssertNeverSeen(carol, "Bob", "bravo");
            AssertNeverSeen(bob, "Carol", "charlie");
            Assert.Contains(carol.Presences, p => p is ("Alice", "available"));
            Assert.Contains(bob.Presences, p => p is ("Alice", "available"));

            // No notice either: "not shared with org-c (rule: barrier)" would tell each side the other is there.
            Assert.Empty(bob.PrivateMessages);
            Assert.Empty(carol.PrivateMessages);

            // Nothing was ever queued across the barrier, and each refusal is on record.
            await using var db = new SqliteConnection($"Data Source={orgs.DatabasePath};Mode=ReadOnly;Pooling=False");
            await db.OpenAsync();
            Assert.Equal(0L, await ScalarAsync(db, "SELECT COUNT(*) FROM outbox WHERE (origin_network = 'org-b' AND dest_network = 'org-c') OR (origin_network = 'org-c' AND dest_network = 'org-b')"));
            Assert.Equal(4L, await ScalarAsync(db, "SELECT COUNT(*) FROM audit WHERE kind = 'decision' AND decision = 'blocked' AND rule_id = 'barrier'"));
            Assert.Equal(0L, await ScalarAsync(db, "SELECT COUNT(*) FROM audit WHERE kind = 'decision' AND decision <> 'blocked' AND ((source_network = 'org-b' AND destination LIKE 'org-c:%') OR (source_network = 'org-c' AND destination LIKE 'org-b:%'))"));
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    [Fact]
    public async Task A_broken_policy_reload_is_refused_and_audited_the_old_policy_keeps_working_and_a_valid_change_applies_without_restart()
    {
        await using var orgs = await ThreeOrganisations.StartAsync(BasePolicy);
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        var carol = await orgs.CarolAsync();
        try
        {
            await alice.SayAsync("[CUI] cui before");
            await alice.SayAsync("plain before");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] plain before"), Long, "the plain message");
            await bob.WaitForAsync(ms => ms.Any(m => m.Body == "[CUI] cui before"), Long, "the CUI message");

            // The operator raises Charlie to CUI but misspells a label elsewhere: the whole change is refused.
            await orgs.WriteConfigAsync(BasePolicy + """

                  networks:
                    org-c: { clearance: CUI }
                  links:
                    ops:
                      destinations:
                        org-b: { clearance: SECERT }
                """);
            await bridge.WaitForOutputAsync("Sharing policy change refused", Long);
            Assert.Contains("SECERT", bridge.Output, StringComparison.Ordinal);

            // SIGHUP means "reload", not "hang up": the daemon stays, and refuses the same policy again.
            await WaitUntilAsync(async () => (await orgs.ExportAuditAsync()).Any(IsRefusedReload), "a refused policy-reload record");
            var refusedBefore = (await orgs.ExportAuditAsync()).Count(IsRefusedReload);
            Assert.Equal(0, SendSignal(bridge.Pid, 1));
            await WaitUntilAsync(async () => (await orgs.ExportAuditAsync()).Count(IsRefusedReload) > refusedBefore, "a refused policy-reload record after SIGHUP");
            Assert.False(bridge.HasExited);

            // The old policy is still in force: CUI still stops at Charlie.
            await alice.SayAsync("[CUI] cui while broken");
            await alice.SayAsync("plain while broken");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] plain while broken"), Long, "the plain message");
            await bob.WaitForAsync(ms => ms.Any(m => m.Body == "[CUI] cui while broken"), Long, "the CUI message");

            // The corrected change applies at once, in the same process.
            await orgs.WriteConfigAsync(BasePolicy + """

                  networks:
                    org-c: { clearance: CUI }
                """);
            await bridge.WaitForOutputAsync("Sharing policy reloaded", Long);
            await alice.SayAsync("[CUI] cui after");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[CUI] cui after" && m.FromNick == "Alice"), Long, "the CUI message after the valid reload");
            await Task.Delay(Settle);

            Assert.DoesNotContain(carol.Messages, m => m.Body.Contains("cui before", StringComparison.Ordinal) || m.Body.Contains("cui while broken", StringComparison.Ordinal));
            Assert.False(bridge.HasExited);
            Assert.Equal(1, CountOccurrences(bridge.Output, "Bridge started"));

            var records = await orgs.ExportAuditAsync();
            output.WriteLine(string.Join('\n', records.Select(r => r.ToJsonString())));
            var reloads = records.Where(r => (string?)r["kind"] == "policy-reload").ToList();
            var refused = reloads.Where(IsRefusedReload).ToList();
            Assert.True(refused.Count >= 2, $"{refused.Count} refused reloads");
            Assert.All(refused, r => Assert.Contains("SECERT", (string?)r["content"], StringComparison.Ordinal));
            Assert.All(refused, r => Assert.Equal(OldAndNew(r).Old, OldAndNew(r).New)); // nothing changed
            var accepted = Assert.Single(reloads, r => (string?)r["decision"] == "accepted");
            Assert.True((long)accepted["seq"]! > refused.Max(r => (long)r["seq"]!));
            Assert.Equal(OldAndNew(refused[0]).Old, OldAndNew(accepted).Old); // the refused ones left the original in force
            Assert.NotEqual(OldAndNew(accepted).Old, OldAndNew(accepted).New);

            AssertDecision(Decisions(records, "[CUI] cui while broken"), "org-c", "blocked", "CUI", rule: "clearance");
            AssertDecision(Decisions(records, "[CUI] cui after"), "org-c", "delivered", "CUI", rule: null);

            var verify = await orgs.CliAsync("audit", "verify");
            Assert.True(verify.ExitCode == 0, $"verify exited {verify.ExitCode}: {verify.Stderr}");
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    [Fact]
    public async Task An_unparsable_or_missing_configuration_file_is_a_refused_reload_and_never_drops_the_policy()
    {
        // Clearances only in the policy section: a reload that lost the section would leave no clearance checks at all.
        const string cleared = """

              networks:
                org-a: { clearance: SECRET }
                org-b: { clearance: CUI }
            """;
        await using var orgs = await ThreeOrganisations.StartAsync(BasePolicy + cleared + """

                org-c: { clearance: UNCLASSIFIED }
            """, clearancesOnNetworks: false);
        var good = await File.ReadAllTextAsync(orgs.ConfigPath);
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        var carol = await orgs.CarolAsync();
        try
        {
            await alice.SayAsync("[CUI] cui one");
            await alice.SayAsync("plain one");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] plain one"), Long, "the plain message");

            // Half an edit: not YAML any more.
            await File.WriteAllTextAsync(orgs.ConfigPath, good + "\npolicy: [unclosed\n");
            await WaitForRefusedReloadsAsync(orgs, 1);
            await bridge.WaitForOutputAsync("YAML syntax error", Long);

            // A deployment that removes the file before writing the new one.
            File.Delete(orgs.ConfigPath);
            await WaitForRefusedReloadsAsync(orgs, 2);
            Assert.Equal(0, SendSignal(bridge.Pid, 1));
            await WaitForRefusedReloadsAsync(orgs, 3);
            Assert.False(bridge.HasExited);

            await alice.SayAsync("[CUI] cui two");
            await alice.SayAsync("plain two");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] plain two"), Long, "the plain message");
            await bob.WaitForAsync(ms => ms.Any(m => m.Body == "[CUI] cui two"), Long, "the CUI message");

            // The file comes back with Charlie raised to CUI: that applies.
            await orgs.WriteConfigAsync(BasePolicy + cleared + """

                    org-c: { clearance: CUI }
                """);
            await bridge.WaitForOutputAsync("Sharing policy reloaded", Long);
            await alice.SayAsync("[CUI] cui three");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[CUI] cui three"), Long, "the CUI message after the file came back");
            await Task.Delay(Settle);

            Assert.DoesNotContain(carol.Messages, m => m.Body.Contains("cui one", StringComparison.Ordinal) || m.Body.Contains("cui two", StringComparison.Ordinal));
            var records = await orgs.ExportAuditAsync();
            output.WriteLine(string.Join('\n', records.Select(r => r.ToJsonString())));
            Assert.DoesNotContain(records, r => (string?)r["kind"] == "policy-reload" && (string?)r["decision"] == "accepted" && (long)r["seq"]! < records.Where(IsRefusedReload).Max(x => (long)x["seq"]!));
            Assert.Single(records, r => (string?)r["kind"] == "policy-reload" && (string?)r["decision"] == "accepted");
            AssertDecision(Decisions(records, "[CUI] cui two"), "org-c", "blocked", "CUI", rule: "clearance");
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    /// <summary>Reads the trail straight from the database: the CLI needs a readable configuration file.</summary>
    private static async Task WaitForRefusedReloadsAsync(ThreeOrganisations orgs, int atLeast)
    {
        await WaitUntilAsync(async () =>
        {
            await using var db = new SqliteConnection($"Data Source={orgs.DatabasePath};Mode=ReadOnly;Pooling=False");
            await db.OpenAsync();
            return await ScalarAsync(db, "SELECT COUNT(*) FROM audit WHERE kind = 'policy-reload' AND decision = 'refused'") >= atLeast;
        }, $"{atLeast} refused policy-reload records");
    }

    private static bool IsRefusedReload(JsonObject r) => (string?)r["kind"] == "policy-reload" && (string?)r["decision"] == "refused";

    /// <summary>The two fingerprints in a policy-reload record's event key <c>policy/OLD..NEW</c>.</summary>
    private static (string Old, string New) OldAndNew(JsonObject r)
    {
        var key = (string?)r["eventKey"] ?? "";
        Assert.StartsWith("policy/", key, StringComparison.Ordinal);
        var parts = key["policy/".Length..].Split("..");
        Assert.Equal(2, parts.Length);
        return (parts[0], parts[1]);
    }

    private static List<JsonObject> Decisions(IReadOnlyList<JsonObject> records, string content) =>
        records.Where(r => (string?)r["kind"] == "decision" && (string?)r["content"] == content).ToList();

    private static void AssertDecision(IReadOnlyList<JsonObject> decisions, string network, string decision, string label, string? rule)
    {
        var r = Assert.Single(decisions, d => ((string?)d["destination"])!.StartsWith(network + ":", StringComparison.Ordinal));
        Assert.Equal(decision, (string?)r["decision"]);
        Assert.Equal(label, (string?)r["label"]);
        if (rule is not null)
        {
            Assert.Equal(rule, (string?)r["ruleId"]);
        }
    }

    /// <summary>No occupant with that nick ever joined, no message from it, no body naming the person or the text.</summary>
    private static void AssertNeverSeen(XmppPerson watcher, string nick, string text)
    {
        Assert.DoesNotContain(watcher.Presences, p => string.Equals(p.Nick, nick, StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(watcher.Messages, m => string.Equals(m.FromNick, nick, StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(watcher.Messages, m => m.Body.Contains(nick, StringComparison.OrdinalIgnoreCase) || m.Body.Contains(text, StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(watcher.PrivateMessages, m => m.Body.Contains(nick, StringComparison.OrdinalIgnoreCase));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Long;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{what} not seen within {Long}");
            }

            await Task.Delay(200);
        }
    }

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static async Task<int> ExecAsync(SqliteConnection db, string sql)
    {
        await using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(SqliteConnection db, string sql)
    {
        await using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
