using Bridge.Core.Audit;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Tests.Support;

namespace Bridge.Tests.Core;

/// <summary>A source batch (one Matrix appservice transaction) through the router: one store transaction, each event decided as alone.</summary>
public sealed class RouterBatchTests
{
    [Fact]
    public async Task A_batch_is_decided_event_by_event_exactly_as_one_at_a_time()
    {
        var one = await RunAsync(async (h, events) =>
        {
            var outcomes = new List<IngestOutcome>();
            foreach (var e in events)
            {
                outcomes.Add(await h.Router.IngestAsync(e, default));
            }

            return outcomes;
        });
        var batched = await RunAsync(async (h, events) => [.. await ((IEventSink)h.Router).IngestBatchAsync(events, default)]);

        Assert.Equal(
            [IngestOutcome.Accepted, IngestOutcome.Accepted, IngestOutcome.Duplicate, IngestOutcome.Echo, IngestOutcome.NotLinked, IngestOutcome.Accepted],
            batched.Outcomes);
        Assert.Equal(one.Outcomes, batched.Outcomes);
        Assert.Equal(["m0", "m1", "m3"], batched.PendingToB); // the blocked m2 is not queued; order kept
        Assert.Equal(one.PendingToB, batched.PendingToB);
        Assert.Equal(one.Audit, batched.Audit);
        Assert.Equal(
            ["a/m0 b:room delivered", "a/m1 b:room delivered", "a/m2 b:room blocked", "a/m3 b:room delivered"],
            batched.Audit);
        Assert.True(batched.ChainOk);
        Assert.Equal(one.Notices, batched.Notices); // the blocked event's sender is told, once
        Assert.Equal(1, batched.Notices);
    }

    [Fact]
    public async Task A_batch_whose_store_write_fails_midway_stores_none_of_it()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        // The second event cannot be stored (no native id): the whole batch fails, the first included.
        BridgeEvent[] events = [CoreHarness.Message("a", "room", "m1", "first"), CoreHarness.Message("a", "room", null!, "broken")];

        await Assert.ThrowsAnyAsync<Exception>(() => ((IEventSink)h.Router).IngestBatchAsync(events, default));

        Assert.Equal(0, await h.Store.CountPendingAsync(null, default));
        Assert.Empty(await h.Store.ReadAuditAsync(0, null, 10, default));
        Assert.Equal(IngestOutcome.Accepted, Assert.Single(await ((IEventSink)h.Router).IngestBatchAsync([events[0]], default)));
        Assert.Equal(1, await h.Store.CountPendingAsync("b", default));
    }

    private static async Task<Result> RunAsync(Func<CoreHarness, BridgeEvent[], Task<List<IngestOutcome>>> ingest)
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks(), new BlockSecrets());
        await h.Store.MigrateAsync(default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m0", "earlier"), default);
        await h.Worker("b").RunOnceAsync(default); // delivered on b as b-native-1

        BridgeEvent[] events =
        [
            CoreHarness.Message("a", "room", "m1", "hello"),
            CoreHarness.Message("a", "room", "m2", "a secret"),
            CoreHarness.Message("a", "room", "m1", "hello again"),
            CoreHarness.Message("b", "room", "b-native-1", "earlier", "puppet"),
            CoreHarness.Message("a", "elsewhere", "m9", "unlinked"),
            CoreHarness.Message("a", "room", "m3", "bye"),
        ];
        var outcomes = await ingest(h, events);

        var pending = await h.Store.GetPendingAsync("b", [], 100, default);
        var delivered = new[] { "m0" }; // already delivered by the worker above
        var audit = await h.Store.ReadAuditAsync(0, null, 100, default);
        for (var i = 0; i < 100 && h.Connectors["a"].Notices.IsEmpty; i++)
        {
            await Task.Delay(10);
        }

        return new Result(
            outcomes,
            [.. delivered, .. pending.Select(p => p.Event.NativeId)],
            [.. audit.Select(r => $"{r.Entry.EventKey} {r.Entry.Destination} {r.Entry.Decision}")],
            AuditChain.Verify(audit).Ok,
            h.Connectors["a"].Notices.Count);
    }

    private sealed record Result(List<IngestOutcome> Outcomes, List<string> PendingToB, List<string> Audit, bool ChainOk, int Notices);

    private sealed class BlockSecrets : ISharingPolicy
    {
        public PolicyDecision Decide(PolicyContext context) => context.Event.Text.Contains("secret", StringComparison.Ordinal)
            ? new PolicyDecision { Verdict = PolicyVerdict.Block, Event = context.Event, RuleId = "no-secrets", SenderNotice = "Not shared (rule: no-secrets)." }
            : new PolicyDecision { Verdict = PolicyVerdict.Deliver, Event = context.Event, RuleId = "allow" };
    }
}
