using Bridge.Core.Audit;
using Bridge.Core.Model;
using Bridge.Core.Storage;
using static Bridge.Store.Tests.TestData;

namespace Bridge.Store.Tests;

/// <summary>Batch ingest: one transaction for many events, each stored as a single ingest would store it.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task Batch_ingest_stores_new_events_in_order_and_skips_duplicates_and_echoes()
    {
        var earlier = Event("mm", "town", "p0");
        Assert.True(await Store.IngestAsync(earlier, [Draft(earlier, "mx", "!room")], [Audit("mm/p0")], Ct));

        // An id the bridge itself delivered on mx: coming back from mx it is an echo.
        var toward = Event("xmpp", "muc", "x1");
        Assert.True(await Store.IngestAsync(toward, [Draft(toward, "mx", "!room")], [Audit("xmpp/x1")], Ct));
        var delivered = (await Store.GetPendingAsync("mx", [], 10, Ct)).Single(i => i.Event.NativeId == "x1");
        await Store.MarkDeliveredAsync(delivered, "echo-1", Ct);

        var p1 = Event("mm", "town", "p1", text: "one");
        var p2 = Event("mm", "town", "p2", text: "two");
        var echo = Event("mx", "!room", "echo-1");
        IngestDraft[] batch =
        [
            new(p1, [Draft(p1, "mx", "!room"), Draft(p1, "xmpp", "muc")], [Audit("mm/p1"), Audit("mm/p1 xmpp")]),
            new(earlier with { Text = "again" }, [Draft(earlier, "mx", "!room")], [Audit("dup-of-store")]),
            new(echo, [Draft(echo, "mm", "town")], [Audit("echo")]),
            new(p2, [Draft(p2, "mx", "!room")], [Audit("mm/p2")]),
            new(p1 with { Text = "repeat" }, [Draft(p1, "mx", "!room")], [Audit("dup-in-batch")]),
        ];

        var results = await Store.IngestBatchAsync(batch, Ct);

        Assert.Equal([IngestStored.Stored, IngestStored.Duplicate, IngestStored.Echo, IngestStored.Stored, IngestStored.Duplicate], results);
        Assert.Equal(["p0", "p1", "p2"], (await Store.GetPendingAsync("mx", [], 10, Ct)).Select(i => i.Event.NativeId));
        Assert.Equal("one", (await Store.GetPendingAsync("mx", [], 10, Ct))[1].Event.Text);
        Assert.Equal(["p1"], (await Store.GetPendingAsync("xmpp", [], 10, Ct)).Select(i => i.Event.NativeId));
        Assert.Empty(await Store.GetPendingAsync("mm", [], 10, Ct));
        Assert.Equal(new MessageOrigin("mm", "p2"), await Store.FindOriginAsync("mm", "p2", Ct));
        Assert.Equal(new MessageOrigin("xmpp", "x1"), await Store.FindOriginAsync("mx", "echo-1", Ct)); // still the delivered copy, no new origin

        // The audit records of the stored events, in event order, continuing the chain.
        var audit = await Store.ReadAuditAsync(0, null, 100, Ct);
        Assert.Equal(["mm/p0", "xmpp/x1", "mm/p1", "mm/p1 xmpp", "mm/p2"], audit.Select(r => r.Entry.EventKey));
        var verification = AuditChain.Verify(audit);
        Assert.True(verification.Ok, verification.Problem);

        // A batch of nothing new writes nothing.
        Assert.Equal([IngestStored.Duplicate], await Store.IngestBatchAsync([new(p2, [Draft(p2, "mx", "!room")], [Audit("late")])], Ct));
        Assert.Equal(5, (await Store.ReadAuditAsync(0, null, 100, Ct)).Count);
        Assert.Empty(await Store.IngestBatchAsync([], Ct));
    }

    [Fact]
    public async Task A_batch_that_fails_midway_stores_nothing_and_can_be_retried()
    {
        var before = Event("mm", "town", "p0");
        Assert.True(await Store.IngestAsync(before, [Draft(before, "mx", "!room")], [Audit("mm/p0")], Ct));
        var p1 = Event("mm", "town", "p1");
        var p2 = Event("mm", "town", "p2");
        // The second event's outbox row cannot be written (no link id): the store refuses it mid-batch.
        var broken = new OutboxDraft(null!, new ChannelRef("mx", "!room"), p2, null);
        IngestDraft[] failing = [new(p1, [Draft(p1, "mx", "!room")], [Audit("mm/p1")]), new(p2, [broken], [Audit("mm/p2")])];

        await Assert.ThrowsAnyAsync<Exception>(() => Store.IngestBatchAsync(failing, Ct));

        Assert.Equal(["p0"], (await Store.GetPendingAsync("mx", [], 10, Ct)).Select(i => i.Event.NativeId));
        Assert.Null(await Store.FindOriginAsync("mm", "p1", Ct));
        Assert.Equal(["mm/p0"], (await Store.ReadAuditAsync(0, null, 100, Ct)).Select(r => r.Entry.EventKey));

        // The retry (as a homeserver retries its transaction) finds nothing of the failed batch: both are new.
        IngestDraft[] retry = [new(p1, [Draft(p1, "mx", "!room")], [Audit("mm/p1")]), new(p2, [Draft(p2, "mx", "!room")], [Audit("mm/p2")])];
        Assert.Equal([IngestStored.Stored, IngestStored.Stored], await Store.IngestBatchAsync(retry, Ct));
        Assert.Equal(["p0", "p1", "p2"], (await Store.GetPendingAsync("mx", [], 10, Ct)).Select(i => i.Event.NativeId));
        var audit = await Store.ReadAuditAsync(0, null, 100, Ct);
        Assert.Equal(["mm/p0", "mm/p1", "mm/p2"], audit.Select(r => r.Entry.EventKey));
        var verification = AuditChain.Verify(audit);
        Assert.True(verification.Ok, verification.Problem);
    }
}
