using Bridge.Core.Model;
using Bridge.Core.Reactions;
using Bridge.Core.Storage;
using Bridge.Core.Storage.Retention;
using Microsoft.Extensions.Logging.Abstractions;
using static Bridge.Store.Tests.TestData;

namespace Bridge.Store.Tests;

/// <summary>Retention (issue 12): what goes after its time, and what never goes.</summary>
public abstract partial class StoreContractTests
{
    private static PruneCutoffs AllOlderThan(DateTimeOffset at) => new(at, at);

    /// <summary>Store times are milliseconds: a pause makes "before" and "after" distinct instants.</summary>
    private static Task Tick() => Task.Delay(5);

    [Fact]
    public async Task Retention_deletes_delivered_rows_and_old_ids_in_batches_but_never_pending_rows_dead_letters_or_the_audit_trail()
    {
        // p1: delivered to mx, skipped toward xmpp. p2: dead-lettered. A reaction delivered (an echo id, no map row).
        var p1 = Event("mm", "town", "p1");
        await Store.IngestAsync(p1, [Draft(p1, "mx", "!room"), Draft(p1, "xmpp", "muc")], [Audit("mm/p1")], Ct);
        var p2 = Event("mm", "town", "p2");
        await Store.IngestAsync(p2, [Draft(p2, "mx", "!room")], [Audit("mm/p2")], Ct);
        var reaction = Event("mm", "town", "r1", BridgeEventKind.Reaction);
        await Store.IngestAsync(reaction, [Draft(reaction, "mx", "!room")], [Audit("mm/r1")], Ct);
        var toMatrix = await Store.GetPendingAsync("mx", [], 10, Ct);
        await Store.MarkDeliveredAsync(toMatrix[0], "$p1", Ct);
        await Store.DeadLetterAsync(toMatrix[1].Id, 3, "403", Ct);
        await Store.MarkDeliveredAsync(toMatrix[2], "$r1", Ct);
        await Store.MarkDeliveredAsync(Assert.Single(await Store.GetPendingAsync("xmpp", [], 10, Ct)), null, Ct);
        await Store.SetPerMessageAsync("xmpp:x", [new("msgid:room:a", "s-a"), new("msgid:room:b", "s-b")], Ct);
        await Store.SetAsync("xmpp:x", "lastid:room", "s-b", Ct); // durable state: a cursor
        await Tick();

        // p3 arrives later and is still pending: it and everything after it keep their ids.
        var p3 = Event("mm", "town", "p3");
        await Store.IngestAsync(p3, [Draft(p3, "mx", "!room")], [Audit("mm/p3")], Ct);
        var auditBefore = (await Store.ReadAuditAsync(0, null, 1_000, Ct)).Count;

        // Nothing is older than an hour ago.
        Assert.Equal(PruneResult.None, await Store.PruneAsync(AllOlderThan(DateTimeOffset.UtcNow.AddHours(-1)), 100, Ct));

        // Everything "old" by a cutoff in the future, one row of each kind per batch: the worker loops until done.
        var options = new RetentionOptions { Delivered = "1m", MessageMap = "1m", BatchSize = 1 };
        var worker = new RetentionWorker(Store, options, NullLogger<RetentionWorker>.Instance, new ShiftedTime(TimeSpan.FromMinutes(2)));
        var total = await worker.PruneAllAsync(Ct);

        // 3 final outbox rows (p1 delivered and skipped, r1 delivered); 3 messages (p1, p2, r1: p3 bounds the cutoff);
        // 2 echo ids; 2 per-message state entries.
        Assert.Equal(new PruneResult(3, 3, 2, 2), total);
        Assert.Null(await Store.FindOriginAsync("mm", "p1", Ct));
        Assert.Null(await Store.FindOriginAsync("mx", "$p1", Ct));
        Assert.False(await Store.IsDeliveredNativeIdAsync("mx", "$p1", Ct));
        Assert.False(await Store.IsDeliveredNativeIdAsync("mx", "$r1", Ct));
        Assert.Null(await Store.GetAsync("xmpp:x", "msgid:room:a", Ct));
        Assert.Equal("s-b", await Store.GetAsync("xmpp:x", "lastid:room", Ct));
        Assert.Empty(await Store.GetDeliveryStatesAsync("mm", "p1", Ct));

        // Kept: the pending row, its message's ids, the dead letter and every audit record.
        var pending = Assert.Single(await Store.GetPendingAsync("mx", [], 10, Ct));
        Assert.Equal("p3", pending.Event.NativeId);
        Assert.Equal(new MessageOrigin("mm", "p3"), await Store.FindOriginAsync("mm", "p3", Ct));
        Assert.Equal(toMatrix[1].Id, Assert.Single(await Store.GetDeadLettersAsync(10, Ct)).OutboxId);
        Assert.Equal(auditBefore, (await Store.ReadAuditAsync(0, null, 1_000, Ct)).Count);

        // A message whose ids were let go is new again to the dedupe only in name: p3 (kept) is still refused.
        Assert.False(await Store.IngestAsync(p3, [Draft(p3, "mx", "!room")], [], Ct));

        // Once p3 is delivered, its time comes too; a second pass then finds nothing.
        await Store.MarkDeliveredAsync(pending, "$p3", Ct);
        Assert.Equal(new PruneResult(1, 1, 1, 0), await worker.PruneAllAsync(Ct));
        Assert.Equal(PruneResult.None, await worker.PruneAllAsync(Ct));
        Assert.Equal(toMatrix[1].Id, Assert.Single(await Store.GetDeadLettersAsync(10, Ct)).OutboxId);
    }

    [Fact]
    public async Task Retention_lets_reaction_sets_go_once_unchanged_for_longer_than_the_message_map_is_kept()
    {
        var now = DateTimeOffset.UtcNow;
        var old = new ReactionOwner("mx", "$old", "@bob:mx");
        var recent = new ReactionOwner("mx", "$new", "@bob:mx");
        await Store.PutReactionsAsync(old, new ReactionSet(new Dictionary<string, string> { ["👍"] = "$r-old" }, now.AddMinutes(-5)), Ct);
        await Store.PutReactionsAsync(recent, new ReactionSet(new Dictionary<string, string> { ["👍"] = "$r-new" }, now.AddMinutes(5)), Ct);

        Assert.Equal(new PruneResult(0, 0, 0, 1), await Store.PruneAsync(AllOlderThan(now), 100, Ct));

        Assert.Empty((await Store.GetReactionsAsync(old, Ct)).Keys);
        Assert.Null(await Store.FindReactionAsync("mx", "$r-old", Ct));
        Assert.Equal(["👍"], (await Store.GetReactionsAsync(recent, Ct)).Keys.Keys);
        Assert.Equal(recent, (await Store.FindReactionAsync("mx", "$r-new", Ct))?.Owner);
        Assert.Equal(PruneResult.None, await Store.PruneAsync(AllOlderThan(now), 100, Ct));
    }

    [Fact]
    public async Task Per_message_state_reads_and_lists_like_any_state_and_can_be_set_again()
    {
        await Store.SetPerMessageAsync("xmpp:x", [new("sent:room:s1", "bridge-1")], Ct);
        await Store.SetPerMessageAsync("xmpp:x", [new("sent:room:s1", "bridge-2")], Ct);
        Assert.Equal("bridge-2", await Store.GetAsync("xmpp:x", "sent:room:s1", Ct));
        Assert.Equal(["sent:room:s1"], (await Store.ListAsync("xmpp:x", Ct)).Keys);
    }

    /// <summary>The system clock moved on by a fixed amount: "now" for the retention worker, later than every row written.</summary>
    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + shift;
    }
}

/// <summary>The <c>retention:</c> section is refused at start when it cannot mean anything sensible.</summary>
public sealed class RetentionOptionsTests
{
    [Theory]
    [InlineData("7d", 7 * 24 * 3600)]
    [InlineData("12h", 12 * 3600)]
    [InlineData("30m", 30 * 60)]
    [InlineData("45s", 45)]
    [InlineData("01:00:00", 3600)]
    public void Durations_read_with_a_unit_or_as_hh_mm_ss(string text, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RetentionOptions.ParseDuration(text));

    [Fact]
    public void The_defaults_are_valid()
    {
        var errors = new List<Bridge.Core.Connectors.ConfigError>();
        new RetentionOptions().Validate(errors);
        Assert.Empty(errors);
        Assert.Equal(TimeSpan.FromDays(7), new RetentionOptions().DeliveredAge);
        Assert.Equal(TimeSpan.FromDays(30), new RetentionOptions().MessageMapAge);
    }

    [Fact]
    public void Bad_values_name_their_key()
    {
        var errors = new List<Bridge.Core.Connectors.ConfigError>();
        new RetentionOptions { Delivered = "7 days", MessageMap = "10s", Interval = "0s", BatchSize = 0 }.Validate(errors);
        Assert.Equal(["retention:delivered", "retention:messageMap", "retention:interval", "retention:batchSize"], errors.Select(e => e.Key));

        errors.Clear();
        new RetentionOptions { Delivered = "30d", MessageMap = "7d" }.Validate(errors);
        Assert.Equal("retention:messageMap", Assert.Single(errors).Key); // a map shorter than the rows it serves
    }
}
