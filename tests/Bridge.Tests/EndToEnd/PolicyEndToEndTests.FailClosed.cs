using System.Text.Json.Nodes;
using Bridge.Testing;

namespace Bridge.Tests.EndToEnd;

/// <summary>Issue 9, through the running daemon on real Prosody: no configuration mistake and no edit opens the gate.</summary>
public sealed partial class PolicyEndToEndTests
{
    [Fact]
    public async Task An_empty_or_truncated_configuration_reload_is_refused_and_a_secret_message_still_goes_only_where_cleared()
    {
        // Clearances only in the policy section: a reload that lost the section would leave nothing cleared to check.
        await using var orgs = await ThreeOrganisations.StartAsync(BasePolicy + """

              networks:
                org-a: { clearance: SECRET }
                org-b: { clearance: CUI }
                org-c: { clearance: UNCLASSIFIED }
            """, clearancesOnNetworks: false);
        var good = await File.ReadAllTextAsync(orgs.ConfigPath);
        var policyAt = good.IndexOf("\npolicy:", StringComparison.Ordinal);
        Assert.True(policyAt > 0, good);
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        var carol = await orgs.CarolAsync();
        try
        {
            await bob.SayAsync("plain one");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] plain one"), Long, "the plain message");

            // An editor that truncates the file before writing it out.
            await File.WriteAllTextAsync(orgs.ConfigPath, "");
            await WaitForRefusedReloadsAsync(orgs, 1);

            // A copy cut off before "policy:".
            await File.WriteAllTextAsync(orgs.ConfigPath, good[..policyAt]);
            await WaitForRefusedReloadsAsync(orgs, 2);
            Assert.Equal(0, SendSignal(bridge.Pid, 1)); // SIGHUP re-reads the same cut-off file: refused again
            await WaitForRefusedReloadsAsync(orgs, 3);
            Assert.False(bridge.HasExited);

            await bob.SayAsync("[SECRET] s-2 after the bad reloads");
            await bob.SayAsync("plain two");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body == "[SECRET] s-2 after the bad reloads" && m.FromNick == "Bob"), Long, "Bob's SECRET message at Alpha");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] plain two"), Long, "the later plain message");
            await Task.Delay(Settle);

            Assert.DoesNotContain(carol.Messages, m => m.Body.Contains("s-2", StringComparison.Ordinal));
            var refusalLines = bridge.Output.Split('\n').Where(l => l.Contains("Configuration reload refused", StringComparison.Ordinal)).ToList();
            Assert.True(refusalLines.Count >= 2, bridge.Output);
            Assert.All(refusalLines, l => Assert.Contains("warn:", l, StringComparison.Ordinal));
            Assert.Contains(refusalLines, l => l.Contains("empty", StringComparison.Ordinal));
            Assert.Contains(refusalLines, l => l.Contains("'policy'", StringComparison.Ordinal));

            // The file comes back whole: the trail is readable again and tells the story.
            await File.WriteAllTextAsync(orgs.ConfigPath, good);
            var records = await orgs.ExportAuditAsync();
            output.WriteLine(string.Join('\n', records.Select(r => r.ToJsonString())));
            var refused = records.Where(IsRefusedReload).ToList();
            Assert.True(refused.Count >= 3, $"{refused.Count} refused reloads");
            Assert.Contains(refused, r => ((string?)r["content"])!.Contains("empty", StringComparison.Ordinal));
            Assert.Contains(refused, r => ((string?)r["content"])!.Contains("'policy'", StringComparison.Ordinal));
            Assert.DoesNotContain(records, r => (string?)r["kind"] == "policy-reload" && (string?)r["decision"] == "accepted");
            AssertDecision(Decisions(records, "[SECRET] s-2 after the bad reloads"), "org-c", "blocked", "SECRET", rule: "clearance");
            AssertDecision(Decisions(records, "[SECRET] s-2 after the bad reloads"), "org-a", "delivered", "SECRET", rule: null);
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    [Fact]
    public async Task A_misspelt_clearance_is_refused_by_check_config_and_at_start()
    {
        await using var orgs = await ThreeOrganisations.StartAsync(BasePolicy);
        var text = await File.ReadAllTextAsync(orgs.ConfigPath);
        var misspelt = System.Text.RegularExpressions.Regex.Replace(text, @"clearance: (['""]?)UNCLASSIFIED", "clearence: $1UNCLASSIFIED");
        Assert.NotEqual(text, misspelt);
        await File.WriteAllTextAsync(orgs.ConfigPath, misspelt);

        var check = await orgs.CliAsync("check-config");
        var run = await orgs.CliAsync("run");

        Assert.Equal(1, check.ExitCode);
        Assert.Contains("networks:org-c:clearence: unknown key; did you mean 'clearance'?", check.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("networks:org-c:clearence: unknown key; did you mean 'clearance'?", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Bridge started", run.Stdout + run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_edit_that_raises_the_label_retracts_the_copies_on_networks_not_cleared_for_it()
    {
        await using var orgs = await ThreeOrganisations.StartAsync(BasePolicy);
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        var carol = await orgs.CarolAsync();
        try
        {
            // UNCLASSIFIED: everyone gets it.
            var original = await alice.SayConfirmedAsync("grid 4711");
            await bob.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] grid 4711"), Long, "the message at Bravo");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] grid 4711"), Long, "the message at Charlie");

            // Raised to CUI: Bravo (CUI) gets the correction, Charlie (UNCLASSIFIED) loses its copy.
            await alice.CorrectAsync(original, "[CUI] grid 4711");
            await bob.WaitForAsync(ms => ms.Any(m => m.Body.Contains("[CUI] grid 4711", StringComparison.Ordinal) && m.ReplaceId is not null), Long, "the correction at Bravo");
            await carol.WaitForAsync(ms => ms.Any(m => m.FromNick == "Alice" && m.Body.Contains("retract", StringComparison.Ordinal)), Long, "the retraction at Charlie");

            // A second message raised to SECRET: retracted at both.
            var second = await alice.SayConfirmedAsync("route 66");
            await bob.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] route 66"), Long, "the second message at Bravo");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] route 66"), Long, "the second message at Charlie");
            await alice.CorrectAsync(second, "[SECRET] route 66");
            await bob.WaitForAsync(ms => ms.Any(m => m.FromNick == "Alice" && m.Body.Contains("retract", StringComparison.Ordinal)), Long, "the retraction at Bravo");
            await carol.WaitForAsync(ms => ms.Count(m => m.FromNick == "Alice" && m.Body.Contains("retract", StringComparison.Ordinal)) >= 2, Long, "the second retraction at Charlie");
            await alice.SayAsync("after");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "[UNCLASSIFIED] after"), Long, "a later message at Charlie");
            await Task.Delay(Settle);

            Assert.DoesNotContain(carol.Messages, m => m.Body.Contains("[CUI]", StringComparison.Ordinal) || m.Body.Contains("[SECRET]", StringComparison.Ordinal));
            Assert.DoesNotContain(bob.Messages, m => m.Body.Contains("[SECRET]", StringComparison.Ordinal));

            var records = await orgs.ExportAuditAsync();
            output.WriteLine(string.Join('\n', records.Select(r => r.ToJsonString())));
            AssertDecision(Decisions(records, "[CUI] grid 4711"), "org-c", "retracted", "CUI", rule: "clearance");
            AssertDecision(Decisions(records, "[CUI] grid 4711"), "org-b", "delivered", "CUI", rule: null);
            AssertDecision(Decisions(records, "[SECRET] route 66"), "org-c", "retracted", "SECRET", rule: "clearance");
            AssertDecision(Decisions(records, "[SECRET] route 66"), "org-b", "retracted", "SECRET", rule: "clearance");
            var verify = await orgs.CliAsync("audit", "verify");
            Assert.True(verify.ExitCode == 0, $"verify exited {verify.ExitCode}: {verify.Stderr}");
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }
}
