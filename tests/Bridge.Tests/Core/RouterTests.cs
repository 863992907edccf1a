using Bridge.Core.Audit;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Tests.Support;
using Bridge.Testing;

namespace Bridge.Tests.Core;

public sealed class RouterTests
{
    [Fact]
    public async Task Accepted_event_queues_one_row_per_other_endpoint_and_one_audit_record_per_decision()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);

        var outcome = await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "hello"), default);

        Assert.Equal(IngestOutcome.Accepted, outcome);
        var pendingToB = await h.Store.GetPendingAsync("b", [], 10, default);
        var single = Assert.Single(pendingToB);
        Assert.Equal("hello", single.Event.Text);
        Assert.Equal("org-a", single.Event.Sender.Organisation);
        Assert.Empty(await h.Store.GetPendingAsync("a", [], 10, default));
        var audit = await h.Store.ReadAuditAsync(0, null, 100, default);
        var record = Assert.Single(audit);
        Assert.Equal("delivered", record.Entry.Decision);
        Assert.Equal("b:room", record.Entry.Destination);
        Assert.True(AuditChain.Verify(audit).Ok);
    }

    [Fact]
    public async Task Same_native_id_twice_is_a_duplicate_and_queues_nothing_more()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);

        Assert.Equal(IngestOutcome.Accepted, await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "x"), default));
        Assert.Equal(IngestOutcome.Duplicate, await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "x"), default));

        Assert.Equal(1, await h.Store.CountPendingAsync("b", default));
        Assert.Single(await h.Store.ReadAuditAsync(0, null, 100, default));
    }

    [Fact]
    public async Task Unlinked_channel_is_ignored()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);

        Assert.Equal(IngestOutcome.NotLinked, await h.Router.IngestAsync(CoreHarness.Message("a", "elsewhere", "m1", "x"), default));
        Assert.Equal(0, await h.Store.CountPendingAsync(null, default));
    }

    [Fact]
    public async Task A_delivered_message_coming_back_is_an_echo()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "x"), default);
        await h.Worker("b").RunOnceAsync(default);
        var nativeOnB = "b-native-1";

        var outcome = await h.Router.IngestAsync(CoreHarness.Message("b", "room", nativeOnB, "x", "puppet"), default);

        Assert.Equal(IngestOutcome.Echo, outcome);
        Assert.Equal(0, await h.Store.CountPendingAsync("a", default));
    }

    [Fact]
    public async Task A_blocking_policy_queues_nothing_records_the_decision_and_tells_the_sender()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks(), new BlockEverything());
        await h.Store.MigrateAsync(default);

        Assert.Equal(IngestOutcome.Accepted, await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "secret"), default));

        Assert.Equal(0, await h.Store.CountPendingAsync(null, default));
        var record = Assert.Single(await h.Store.ReadAuditAsync(0, null, 10, default));
        Assert.Equal("blocked", record.Entry.Decision);
        Assert.Equal("test-rule", record.Entry.RuleId);
        Assert.Null(record.Entry.Content);
        await WaitFor(() => !h.Connectors["a"].Notices.IsEmpty);
        Assert.Contains("test-rule", h.Connectors["a"].Notices.Single().Notice, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_that_throws_fails_closed()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks(), new ThrowingPolicy());
        await h.Store.MigrateAsync(default);

        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "x"), default);

        Assert.Equal(0, await h.Store.CountPendingAsync(null, default));
        Assert.Equal("policy-error", Assert.Single(await h.Store.ReadAuditAsync(0, null, 10, default)).Entry.RuleId);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(10);
        }
    }

    private sealed class BlockEverything : ISharingPolicy
    {
        public PolicyDecision Decide(PolicyContext context) => new()
        {
            Verdict = PolicyVerdict.Block,
            Event = context.Event,
            RuleId = "test-rule",
            SenderNotice = "Not shared (rule: test-rule).",
        };
    }

    private sealed class ThrowingPolicy : ISharingPolicy
    {
        public PolicyDecision Decide(PolicyContext context) => throw new InvalidOperationException("boom");
    }
}
