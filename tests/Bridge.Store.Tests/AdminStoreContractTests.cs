using Bridge.Core.Audit;
using Bridge.Core.Model;
using Bridge.Core.Storage;
using static Bridge.Store.Tests.TestData;

namespace Bridge.Store.Tests;

/// <summary>
/// What the admin API needs of every store (<see cref="IAdminStore"/>): links made at run time kept across a reopen,
/// a removed endpoint's pending rows dead-lettered with the reason in the same transaction as the change and its audit
/// record, and dead letters retried or dropped. Runs on SQLite and PostgreSQL through <see cref="StoreContractTests"/>.
/// </summary>
public abstract partial class StoreContractTests
{
    private IAdminStore Admin => (IAdminStore)Store;

    private static AuditDraft Change(string decision) => new() { At = Noon, Kind = "admin-change", Decision = decision, SourcePerson = "ops-alice", LinkId = "link-1" };

    [Fact]
    public async Task Links_made_through_the_api_are_kept_in_creation_order_across_a_reopen()
    {
        await Admin.ChangeLinkAsync("zeta", "{\"endpoints\":[]}", "ops-alice", [], "", [Change("link-created")], Ct);
        await Admin.ChangeLinkAsync("alpha", "{\"endpoints\":[1]}", "ops-bob", [], "", [Change("link-created")], Ct);
        await Admin.ChangeLinkAsync("zeta", "{\"paused\":true}", "ops-bob", [], "", [Change("link-paused")], Ct);

        await using var reopened = OpenStore();
        await reopened.MigrateAsync(Ct);
        var links = await ((IAdminStore)reopened).GetLinksAsync(Ct);

        Assert.Equal(["zeta", "alpha"], links.Select(l => l.Id));
        Assert.Equal("{\"paused\":true}", links[0].DefinitionJson);
        Assert.Equal("ops-bob", links[0].UpdatedBy);
        Assert.Equal(["link-created", "link-created", "link-paused"],
            (await reopened.ReadAuditAsync(0, null, 10, Ct)).Where(r => r.Entry.Kind == "admin-change").Select(r => r.Entry.Decision));

        await ((IAdminStore)reopened).ChangeLinkAsync("zeta", null, "ops-alice", [], "", [Change("link-deleted")], Ct);
        Assert.Equal(["alpha"], (await Admin.GetLinksAsync(Ct)).Select(l => l.Id));
    }

    [Fact]
    public async Task Removing_an_endpoint_dead_letters_only_its_pending_rows_with_the_reason()
    {
        for (var i = 0; i < 3; i++)
        {
            var e = Event("mm", "town", $"p{i}");
            await Store.IngestAsync(e, [Draft(e, "mx", "!gone"), Draft(e, "mx", "!stays")], [], Ct);
        }

        var delivered = (await Store.GetPendingAsync("mx", ["!stays"], 10, Ct))[0];
        await Store.MarkDeliveredAsync(delivered, "$done", Ct);

        var dead = await Admin.ChangeLinkAsync("link-1", "{}", "ops-alice", [new ChannelRef("mx", "!gone")], "endpoint-removed: by ops-alice", [Change("endpoint-removed")], Ct);

        Assert.Equal(2, dead);
        Assert.Equal(3, await Store.CountPendingAsync("mx", Ct));
        Assert.All(await Store.GetPendingAsync("mx", [], 10, Ct), i => Assert.Equal("!stays", i.Destination.ChannelId));
        var letters = await Store.GetDeadLettersAsync(10, Ct);
        Assert.Equal(2, letters.Count);
        Assert.All(letters, d => Assert.Equal("endpoint-removed: by ops-alice", d.Reason));
        var audit = await Store.ReadAuditAsync(0, null, 10, Ct);
        Assert.Equal(2, audit.Count(r => r.Entry.Kind == DeliveryOutcomeAudit.Kind));
        Assert.Single(audit, r => r.Entry.Kind == "admin-change");
    }

    [Fact]
    public async Task A_retried_dead_letter_is_pending_again_with_no_attempts_and_a_dropped_one_is_gone()
    {
        var e = Event("mm", "town", "p1");
        var f = Event("mm", "town", "p2");
        await Store.IngestAsync(e, [Draft(e, "mx", "!room")], [], Ct);
        await Store.IngestAsync(f, [Draft(f, "mx", "!room")], [], Ct);
        var rows = await Store.GetPendingAsync("mx", [], 10, Ct);
        await Store.DeadLetterAsync(rows[0].Id, 12, "rejected", Ct);
        await Store.DeadLetterAsync(rows[1].Id, 12, "rejected", Ct);

        Assert.True(await Admin.ResolveDeadLetterAsync(rows[0].Id, retry: true, "retried by ops-alice", Change("deadletter-retried"), Ct));
        Assert.True(await Admin.ResolveDeadLetterAsync(rows[1].Id, retry: false, "dropped by ops-alice", Change("deadletter-dropped"), Ct));
        Assert.False(await Admin.ResolveDeadLetterAsync(rows[1].Id, retry: true, "again", Change("deadletter-retried"), Ct));

        var pending = Assert.Single(await Store.GetPendingAsync("mx", [], 10, Ct));
        Assert.Equal(rows[0].Id, pending.Id);
        Assert.Equal(0, pending.Attempts);
        Assert.Empty(await Store.GetDeadLettersAsync(10, Ct));
    }
}
