using System.Text.Json;
using Bridge.Core.Audit;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Policy;
using Bridge.Core.Storage;
using static Bridge.Policy.Tests.TestSupport;

namespace Bridge.Policy.Tests;

public class AuditTests
{
    private static readonly NetworkDefinition A = Network("org-a", "A");
    private static readonly NetworkDefinition B = Network("org-b", "B");
    private static readonly NetworkDefinition C = Network("org-c", "C");

    [Fact]
    public async Task Barrier_produces_no_outbox_rows_toward_the_barred_organisation_but_audits_every_decision()
    {
        var policy = new ReloadableSharingPolicy(Compile("policy: { barriers: [[A, B]] }"));
        await using var rig = await RouterRig.CreateAsync([A, B, C], policy);
        Assert.Equal(IngestOutcome.Accepted, await rig.Router.IngestAsync(Message("org-a", "hello from A", user: "@alice:a"), CancellationToken.None));
        Assert.Equal(IngestOutcome.Accepted, await rig.Router.IngestAsync(Message("org-b", "hello from B", user: "@bob:b"), CancellationToken.None));
        Assert.Equal(IngestOutcome.Accepted, await rig.Router.IngestAsync(Message("org-c", "hello from C", user: "@carol:c"), CancellationToken.None));

        var rows = await rig.OutboxCountsAsync();
        Assert.Equal(2, rows["org-c"]); // from A and from B
        Assert.Equal(1, rows["org-a"]); // from C only
        Assert.Equal(1, rows["org-b"]); // from C only
        foreach (var payload in (await rig.OutboxPayloadsAsync("org-b")).Concat(await rig.OutboxPayloadsAsync("org-a")))
        {
            Assert.DoesNotContain("@alice:a", payload, StringComparison.Ordinal);
            Assert.DoesNotContain("@bob:b", payload, StringComparison.Ordinal);
        }

        var audit = await rig.AuditAsync();
        Assert.Equal(6, audit.Count);
        Assert.Equal(2, audit.Count(r => r.Entry.Decision == "blocked" && r.Entry.RuleId == "barrier"));
        Assert.Empty(rig.Notices); // a barrier tells no one: a notice would tell each side that the other is there
    }

    [Fact]
    public async Task Verifier_names_the_altered_record()
    {
        var policy = new ReloadableSharingPolicy(Compile("policy: { labels: [LOW, HIGH], networks: { org-b: { clearance: LOW } } }"));
        await using var rig = await RouterRig.CreateAsync([A, B, C], policy);
        for (var i = 0; i < 12; i++)
        {
            await rig.Router.IngestAsync(Message("org-a", i % 3 == 0 ? "[HIGH] x" : "x"), CancellationToken.None);
        }

        var verifier = new AuditVerifier(rig.Store, pageSize: 5);
        var clean = await verifier.VerifyAsync(CancellationToken.None);
        Assert.True(clean.Ok);
        Assert.Equal(24, clean.Verification.RecordsChecked);
        Assert.Equal(24, clean.HeadSequence);

        await rig.ExecAsync("DROP TRIGGER audit_no_update; UPDATE audit SET decision = 'tampered' WHERE seq = 13;");
        var broken = await verifier.VerifyAsync(CancellationToken.None);
        Assert.False(broken.Ok);
        Assert.Equal(13, broken.Verification.FirstBrokenSequence);
        Assert.Equal(12, broken.Verification.RecordsChecked);
        Assert.Contains("altered", broken.Verification.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verifier_detects_records_removed_from_the_end_given_an_earlier_head()
    {
        await using var rig = await RouterRig.CreateAsync([A, B], new ReloadableSharingPolicy(CompiledPolicy.Permissive));
        for (var i = 0; i < 4; i++)
        {
            await rig.Router.IngestAsync(Message("org-a", "x"), CancellationToken.None);
        }

        var verifier = new AuditVerifier(rig.Store, pageSize: 3);
        var head = await verifier.VerifyAsync(CancellationToken.None);
        Assert.True(AuditVerifier.TryParseHead(head.Head, out var parsed));
        Assert.Equal((head.HeadSequence, head.HeadHash), parsed);
        Assert.False(AuditVerifier.TryParseHead("4:xyz", out _));
        Assert.True((await verifier.VerifyAsync(CancellationToken.None, parsed)).Ok);

        await rig.ExecAsync("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 4;");
        Assert.True((await verifier.VerifyAsync(CancellationToken.None)).Ok); // a chain alone cannot see a shortened end
        var anchored = await verifier.VerifyAsync(CancellationToken.None, (head.HeadSequence, head.HeadHash));
        Assert.False(anchored.Ok);
        Assert.Equal(4, anchored.Verification.FirstBrokenSequence);
    }

    [Fact]
    public async Task Exporter_writes_jsonl_and_csv_with_since()
    {
        await using var rig = await RouterRig.CreateAsync([A, B], new ReloadableSharingPolicy(CompiledPolicy.Permissive));
        var old = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var recent = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        await rig.Store.AppendAuditAsync(
        [
            new AuditDraft { At = old, Kind = "decision", Decision = "blocked", LinkId = "ops", RuleId = "clearance", Label = "SECRET" },
            new AuditDraft { At = recent, Kind = "decision", Decision = "delivered", LinkId = "ops", SourcePerson = "=cmd|' /C calc'!A0", Content = "a, \"quoted\"\nline" },
            new AuditDraft { At = recent.AddDays(1), Kind = PolicyAudit.ReloadKind, Decision = "accepted", RuleId = "policy" },
        ], CancellationToken.None);

        var exporter = new AuditExporter(rig.Store, pageSize: 2);
        var jsonl = new StringWriter();
        Assert.Equal(3, await exporter.ExportAsync(jsonl, AuditExportFormat.Jsonl, null, CancellationToken.None));
        var lines = jsonl.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        using (var first = JsonDocument.Parse(lines[0]))
        {
            Assert.Equal(1, first.RootElement.GetProperty("seq").GetInt64());
            Assert.Equal("2026-01-01T00:00:00.0000000Z", first.RootElement.GetProperty("at").GetString());
            Assert.Equal("clearance", first.RootElement.GetProperty("ruleId").GetString());
            Assert.Equal(JsonValueKind.Null, first.RootElement.GetProperty("content").ValueKind);
            Assert.Equal(AuditChain.Genesis, first.RootElement.GetProperty("prevHash").GetString());
        }

        using (var second = JsonDocument.Parse(lines[1]))
        {
            Assert.Equal("a, \"quoted\"\nline", second.RootElement.GetProperty("content").GetString());
        }

        var csv = new StringWriter();
        Assert.Equal(2, await exporter.ExportAsync(csv, AuditExportFormat.Csv, recent, CancellationToken.None));
        var text = csv.ToString();
        Assert.StartsWith("seq,at,kind,link,eventKey,sourceNetwork,sourcePerson,destination,decision,ruleId,label,contentHash,content,prevHash,hash,keyId,outcome\r\n", text, StringComparison.Ordinal);
        Assert.Contains("\"a, \"\"quoted\"\"\nline\"", text, StringComparison.Ordinal);
        Assert.Contains(",=cmd|' /C calc'!A0,", text, StringComparison.Ordinal);
        Assert.DoesNotContain(",blocked,", text, StringComparison.Ordinal);

        var safe = new StringWriter();
        await exporter.ExportAsync(safe, AuditExportFormat.Csv, recent, CancellationToken.None, spreadsheetSafe: true);
        Assert.Contains(",'=cmd|' /C calc'!A0,", safe.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2026-06-01T00:00:00Z", "2026-06-01T00:00:00+00:00")]
    [InlineData("2026-06-01T02:00:00+02:00", "2026-06-01T00:00:00+00:00")]
    [InlineData("2026-06-01", "2026-06-01T00:00:00+00:00")]
    [InlineData("24h", "2026-06-09T00:00:00+00:00")]
    [InlineData("7d", "2026-06-03T00:00:00+00:00")]
    [InlineData("30m", "2026-06-09T23:30:00+00:00")]
    public void Since_accepts_times_and_ages(string text, string expected)
    {
        var now = new DateTimeOffset(2026, 6, 10, 0, 0, 0, TimeSpan.Zero);
        Assert.True(AuditExporter.TryParseSince(text, now, out var since));
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), since);
        Assert.False(AuditExporter.TryParseSince("yesterday", now, out _));
        Assert.True(AuditExporter.TryParseFormat("CSV", out var f) && f == AuditExportFormat.Csv);
        Assert.False(AuditExporter.TryParseFormat("xml", out _));
    }
}
