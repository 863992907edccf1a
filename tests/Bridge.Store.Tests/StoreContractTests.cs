using System.Data.Common;
using System.Diagnostics;
using Bridge.Core.Audit;
using Bridge.Core.Model;
using Bridge.Core.Storage;
using Xunit.Abstractions;
using static Bridge.Store.Tests.TestData;

namespace Bridge.Store.Tests;

/// <summary>
/// The behaviour every <see cref="IBridgeStore"/> must have. Each concrete subclass supplies a fresh, empty database per test
/// (xunit creates one class instance per test) and a way to open store instances over it.
/// </summary>
public abstract partial class StoreContractTests : IAsyncLifetime
{
    protected StoreContractTests(ITestOutputHelper output)
    {
        Output = output;
    }

    protected ITestOutputHelper Output { get; }

    protected IBridgeStore Store { get; private set; } = null!;

    protected static CancellationToken Ct => CancellationToken.None;

    /// <summary>Name used in measurement output.</summary>
    protected abstract string StoreName { get; }

    /// <summary>Creates this test's empty database (a file, a schema...).</summary>
    protected abstract Task PrepareDatabaseAsync();

    /// <summary>A new store instance over this test's database (as a second process would open it).</summary>
    protected abstract IBridgeStore OpenStore(AuditKeyRing? auditKeys = null);

    /// <summary>SQL that lets a test (playing an attacker with write access) update audit rows, bypassing the append-only trigger.</summary>
    protected abstract string AllowAuditUpdatesSql { get; }

    /// <summary>Runs SQL directly against this test's database, bypassing the store.</summary>
    protected abstract Task ExecuteRawAsync(string sql);

    /// <summary>The rows of schema_version, read directly.</summary>
    protected abstract Task<IReadOnlyList<int>> ReadSchemaVersionsAsync();

    /// <summary>The migration steps the store has (PostgreSQL has one more: the leader lease row and the commit fence).</summary>
    /// <summary>Every step the store defines, each applied once (read from the migration list, so new steps need no edit here).</summary>
    protected virtual IReadOnlyList<int> SchemaVersions => [.. Bridge.Core.Storage.Sqlite.SqliteMigrations.All.Select(m => m.Version).Order()];

    protected virtual Task DropDatabaseAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        await PrepareDatabaseAsync();
        Store = OpenStore();
        await Store.MigrateAsync(Ct);
    }

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        await DropDatabaseAsync();
    }

    [Fact]
    public async Task Ingest_of_a_new_event_writes_outbox_map_and_audit()
    {
        var e = Event("mm", "town", "p1");
        Assert.True(await Store.IngestAsync(e, [Draft(e, "mx", "!room", "internal"), Draft(e, "xmpp", "muc@conf")], [Audit("mm/p1")], Ct));

        var pending = await Store.GetPendingAsync("mx", [], 10, Ct);
        var item = Assert.Single(pending);
        Assert.Equal("link-1", item.LinkId);
        Assert.Equal(new ChannelRef("mx", "!room"), item.Destination);
        Assert.Equal("internal", item.Label);
        Assert.Equal(0, item.Attempts);
        Assert.Equal(e.NativeId, item.Event.NativeId);
        Assert.Equal(e.Text, item.Event.Text);
        Assert.Equal(e.Sender, item.Event.Sender);
        Assert.Equal(e.StructuredLabels, item.Event.StructuredLabels);
        Assert.Equal(e.Timestamp, item.Event.Timestamp);
        Assert.Null(Assert.Single(await Store.GetPendingAsync("xmpp", [], 10, Ct)).Label);

        // The origin is in the message map under its own network.
        Assert.Equal(new MessageOrigin("mm", "p1"), await Store.FindOriginAsync("mm", "p1", Ct));
        Assert.Single(await Store.ReadAuditAsync(0, null, 10, Ct));
    }

    [Fact]
    public async Task Repeated_ingest_of_the_same_native_id_returns_false_and_writes_nothing()
    {
        var e = Event("mm", "town", "p1");
        Assert.True(await Store.IngestAsync(e, [Draft(e, "mx", "!room")], [Audit("first")], Ct));

        var again = e with { Text = "changed" };
        Assert.False(await Store.IngestAsync(again, [Draft(again, "mx", "!room"), Draft(again, "xmpp", "muc")], [Audit("second"), Audit("third")], Ct));

        Assert.Equal(1, await Store.CountPendingAsync(null, Ct));
        Assert.Equal("hello", Assert.Single(await Store.GetPendingAsync("mx", [], 10, Ct)).Event.Text);
        Assert.Equal("first", Assert.Single(await Store.ReadAuditAsync(0, null, 10, Ct)).Entry.EventKey);

        // Dedupe is per network: the same native id elsewhere is a different event.
        var other = Event("xmpp", "muc", "p1");
        Assert.True(await Store.IngestAsync(other, [Draft(other, "mx", "!room")], [], Ct));
        Assert.Equal(2, await Store.CountPendingAsync(null, Ct));
    }

    [Fact]
    public async Task Pending_rows_come_oldest_first_and_skip_excluded_channels()
    {
        var ids = new[] { "a1", "b1", "a2", "c1", "a3" };
        foreach (var id in ids)
        {
            var e = Event("mm", "town", id);
            await Store.IngestAsync(e, [Draft(e, "mx", "!" + id[0]), Draft(e, "xmpp", "muc")], [], Ct);
        }

        var all = await Store.GetPendingAsync("mx", [], 100, Ct);
        Assert.Equal(ids, all.Select(i => i.Event.NativeId));
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Id < p.Second.Id));
        Assert.All(all, i => Assert.Equal("mx", i.Destination.NetworkId));

        var withoutA = await Store.GetPendingAsync("mx", ["!a", "!c"], 100, Ct);
        Assert.Equal(["b1"], withoutA.Select(i => i.Event.NativeId));

        var limited = await Store.GetPendingAsync("mx", [], 2, Ct);
        Assert.Equal(["a1", "b1"], limited.Select(i => i.Event.NativeId));

        Assert.Empty(await Store.GetPendingAsync("nowhere", [], 10, Ct));
    }

    [Fact]
    public async Task MarkDelivered_maps_origin_to_native_id_and_records_the_echo()
    {
        var e = Event("mm", "town", "p1");
        await Store.IngestAsync(e, [Draft(e, "mx", "!room"), Draft(e, "xmpp", "muc")], [], Ct);
        var item = Assert.Single(await Store.GetPendingAsync("mx", [], 10, Ct));

        Assert.False(await Store.IsDeliveredNativeIdAsync("mx", "$ev1", Ct));
        await Store.MarkDeliveredAsync(item, "$ev1", Ct);

        Assert.Empty(await Store.GetPendingAsync("mx", [], 10, Ct));
        Assert.Equal(1, await Store.CountPendingAsync(null, Ct));
        Assert.True(await Store.IsDeliveredNativeIdAsync("mx", "$ev1", Ct));
        Assert.False(await Store.IsDeliveredNativeIdAsync("xmpp", "$ev1", Ct));

        var origin = new MessageOrigin("mm", "p1");
        Assert.Equal("$ev1", await Store.FindNativeIdAsync(origin, new ChannelRef("mx", "!room"), Ct));
        Assert.Equal("p1", await Store.FindNativeIdAsync(origin, new ChannelRef("mm", "town"), Ct));
        Assert.Null(await Store.FindNativeIdAsync(origin, new ChannelRef("xmpp", "muc"), Ct));
        Assert.Null(await Store.FindNativeIdAsync(origin, new ChannelRef("mx", "!other"), Ct));

        // Both the origin id and the delivered id lead back to the origin.
        Assert.Equal(origin, await Store.FindOriginAsync("mm", "p1", Ct));
        Assert.Equal(origin, await Store.FindOriginAsync("mx", "$ev1", Ct));
        Assert.Null(await Store.FindOriginAsync("mx", "p1", Ct));
        Assert.Null(await Store.FindOriginAsync("mm", "$ev1", Ct));
    }

    [Fact]
    public async Task Delivering_a_non_message_records_the_echo_but_maps_nothing_and_a_skip_records_neither()
    {
        var edit = Event("mm", "town", "edit-1", BridgeEventKind.Edit);
        await Store.IngestAsync(edit, [Draft(edit, "mx", "!room"), Draft(edit, "xmpp", "muc")], [], Ct);
        Assert.Null(await Store.FindOriginAsync("mm", "edit-1", Ct));

        await Store.MarkDeliveredAsync(Assert.Single(await Store.GetPendingAsync("mx", [], 10, Ct)), "$edit", Ct);
        Assert.True(await Store.IsDeliveredNativeIdAsync("mx", "$edit", Ct));
        Assert.Null(await Store.FindOriginAsync("mx", "$edit", Ct));

        // A null native id means "nothing to send": the row leaves the queue, no mapping or echo is recorded.
        await Store.MarkDeliveredAsync(Assert.Single(await Store.GetPendingAsync("xmpp", [], 10, Ct)), null, Ct);
        Assert.Equal(0, await Store.CountPendingAsync(null, Ct));
        Assert.Empty(await Store.GetDeadLettersAsync(10, Ct));
    }

    [Fact]
    public async Task Reschedule_keeps_the_row_pending_with_new_attempts_and_time()
    {
        var e = Event("mm", "town", "p1");
        await Store.IngestAsync(e, [Draft(e, "mx", "!room")], [], Ct);
        var item = Assert.Single(await Store.GetPendingAsync("mx", [], 10, Ct));
        var notBefore = DateTimeOffset.FromUnixTimeMilliseconds(1_900_000_000_123);

        await Store.RescheduleAsync(item.Id, 3, notBefore, "503 from server", Ct);

        var again = Assert.Single(await Store.GetPendingAsync("mx", [], 10, Ct));
        Assert.Equal(item.Id, again.Id);
        Assert.Equal(3, again.Attempts);
        Assert.Equal(notBefore, again.NotBefore);
        Assert.Equal(item.CreatedAt, again.CreatedAt);
        Assert.Empty(await Store.GetDeadLettersAsync(10, Ct));
    }

    [Fact]
    public async Task DeadLetter_removes_the_row_from_the_queue_and_lists_it_for_operators()
    {
        for (var i = 1; i <= 3; i++)
        {
            var e = Event("mm", "town", "p" + i);
            await Store.IngestAsync(e, [Draft(e, "mx", "!room")], [], Ct);
        }

        var items = await Store.GetPendingAsync("mx", [], 10, Ct);
        await Store.DeadLetterAsync(items[0].Id, 5, "403 forbidden", Ct);
        await Store.DeadLetterAsync(items[2].Id, 7, "too large", Ct);

        Assert.Equal([items[1].Id], (await Store.GetPendingAsync("mx", [], 10, Ct)).Select(i => i.Id));
        Assert.Equal(1, await Store.CountPendingAsync("mx", Ct));

        var dead = await Store.GetDeadLettersAsync(10, Ct);
        Assert.Equal([items[2].Id, items[0].Id], dead.Select(d => d.OutboxId)); // newest first
        var first = dead[1];
        Assert.Equal("link-1", first.LinkId);
        Assert.Equal(new ChannelRef("mx", "!room"), first.Destination);
        Assert.Equal("mm", first.OriginNetwork);
        Assert.Equal("p1", first.OriginNativeId);
        Assert.Equal("403 forbidden", first.Reason);
        Assert.Equal(5, first.Attempts);
        Assert.Single(await Store.GetDeadLettersAsync(1, Ct));
    }

    [Fact]
    public async Task CountPending_counts_per_network_and_in_total()
    {
        Assert.Equal(0, await Store.CountPendingAsync(null, Ct));
        for (var i = 0; i < 4; i++)
        {
            var e = Event("mm", "town", "p" + i);
            var drafts = i % 2 == 0 ? new[] { Draft(e, "mx", "!r"), Draft(e, "xmpp", "muc") } : [Draft(e, "mx", "!r")];
            await Store.IngestAsync(e, drafts, [], Ct);
        }

        Assert.Equal(6, await Store.CountPendingAsync(null, Ct));
        Assert.Equal(4, await Store.CountPendingAsync("mx", Ct));
        Assert.Equal(2, await Store.CountPendingAsync("xmpp", Ct));
        Assert.Equal(0, await Store.CountPendingAsync("mm", Ct));
    }

    [Fact]
    public async Task Connector_state_get_set_tryadd_list_delete()
    {
        Assert.Null(await Store.GetAsync("mx", "since", Ct));

        await Store.SetAsync("mx", "since", "s1", Ct);
        await Store.SetAsync("mx", "since", "s2", Ct);
        await Store.SetAsync("mm", "since", "other scope", Ct);
        Assert.Equal("s2", await Store.GetAsync("mx", "since", Ct));

        Assert.True(await Store.TryAddAsync("mx", "txn:1", "seen", Ct));
        Assert.False(await Store.TryAddAsync("mx", "txn:1", "again", Ct));
        Assert.False(await Store.TryAddAsync("mx", "since", "s3", Ct));
        Assert.Equal("seen", await Store.GetAsync("mx", "txn:1", Ct));
        Assert.Equal("s2", await Store.GetAsync("mx", "since", Ct));

        var list = await Store.ListAsync("mx", Ct);
        Assert.Equal(2, list.Count);
        Assert.Equal("s2", list["since"]);
        Assert.Equal("seen", list["txn:1"]);

        await Store.DeleteAsync("mx", "since", Ct);
        await Store.DeleteAsync("mx", "missing", Ct);
        Assert.Null(await Store.GetAsync("mx", "since", Ct));
        Assert.Equal("other scope", await Store.GetAsync("mm", "since", Ct));
        Assert.Equal(["txn:1"], (await Store.ListAsync("mx", Ct)).Keys);
        Assert.Empty(await Store.ListAsync("nobody", Ct));
    }

    [Fact]
    public async Task Connector_state_set_many_writes_and_overwrites_the_keys_of_the_scope_only()
    {
        await Store.SetAsync("x:sending", "m1", "old", Ct);
        await Store.SetAsync("other", "m1", "kept", Ct);

        await Store.SetManyAsync("x:sending", [new("m1", "new"), new("m2", "t2")], Ct);
        await Store.SetManyAsync("x:sending", [], Ct);

        Assert.Equal(new Dictionary<string, string> { ["m1"] = "new", ["m2"] = "t2" }, await Store.ListAsync("x:sending", Ct));
        Assert.Equal("kept", await Store.GetAsync("other", "m1", Ct));
    }

    [Fact]
    public async Task Connector_state_delete_many_deletes_the_named_keys_of_the_scope_only()
    {
        await Store.SetManyAsync("x:sending", [new("m1", "t"), new("m2", "t"), new("m3", "t")], Ct);
        await Store.SetAsync("other", "m1", "kept", Ct);

        await Store.DeleteManyAsync("x:sending", ["m1", "m3", "never-set"], Ct);
        await Store.DeleteManyAsync("x:sending", [], Ct);

        Assert.Equal(["m2"], (await Store.ListAsync("x:sending", Ct)).Keys);
        Assert.Equal("kept", await Store.GetAsync("other", "m1", Ct));
    }

    [Fact]
    public async Task Audit_records_round_trip_filter_and_form_a_verifiable_chain()
    {
        var e = Event("mm", "town", "p1");
        await Store.IngestAsync(e, [Draft(e, "mx", "!room")], [Audit("a1", content: "secret text"), Audit("a2", "deny")], Ct);
        await Store.AppendAuditAsync([Audit("a3", at: Noon.AddHours(1)), Audit("a4", at: Noon.AddHours(2))], Ct);
        await Store.AppendAuditAsync([], Ct);

        var all = await Store.ReadAuditAsync(0, null, 100, Ct);
        Assert.Equal([1L, 2, 3, 4], all.Select(r => r.Sequence));
        Assert.Equal(["a1", "a2", "a3", "a4"], all.Select(r => r.Entry.EventKey));
        Assert.Equal(Audit("a1", content: "secret text"), all[0].Entry); // every field, At to the tick
        Assert.Null(all[1].Entry.Content);
        Assert.Equal(AuditChain.Genesis, all[0].PreviousHash);
        Assert.Equal(AuditChain.ComputeHash(AuditChain.Genesis, 1, all[0].Entry), all[0].Hash);
        var verification = AuditChain.Verify(all);
        Assert.True(verification.Ok, verification.Problem);
        Assert.Equal(4, verification.RecordsChecked);

        Assert.Equal([3L, 4], (await Store.ReadAuditAsync(2, null, 100, Ct)).Select(r => r.Sequence));
        Assert.Equal([3L, 4], (await Store.ReadAuditAsync(0, Noon.AddMinutes(30), 100, Ct)).Select(r => r.Sequence));
        Assert.Equal([4L], (await Store.ReadAuditAsync(0, Noon.AddHours(2), 100, Ct)).Select(r => r.Sequence));
        Assert.Equal([1L, 2], (await Store.ReadAuditAsync(0, null, 2, Ct)).Select(r => r.Sequence));

        // A continuation from the middle verifies against the hash before it.
        var tail = await Store.ReadAuditAsync(2, null, 100, Ct);
        Assert.True(AuditChain.Verify(tail, all[1].Hash, 3).Ok);
    }

    [Fact]
    public async Task Audit_table_refuses_updates_and_deletes()
    {
        await Store.AppendAuditAsync([Audit("a1"), Audit("a2")], Ct);

        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteRawAsync("UPDATE audit SET decision = 'deny' WHERE seq = 1"));
        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteRawAsync("DELETE FROM audit WHERE seq = 2"));

        var all = await Store.ReadAuditAsync(0, null, 100, Ct);
        Assert.Equal(2, all.Count);
        Assert.Equal("allow", all[0].Entry.Decision);
        Assert.True(AuditChain.Verify(all).Ok);
    }

    [Fact]
    public async Task Concurrent_ingests_keep_the_audit_chain_gapless_and_dedupe_holds()
    {
        const int Events = 60;
        const int Writers = 8;

        // Every writer tries every event: each event must be ingested exactly once, whoever wins.
        var wins = new int[Events];
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < Events; i++)
            {
                var n = (i + (w * 7)) % Events;
                var e = Event("mm", "town", "p" + n);
                if (await Store.IngestAsync(e, [Draft(e, "mx", "!room")], [Audit($"p{n}/a"), Audit($"p{n}/b")], Ct))
                {
                    Interlocked.Increment(ref wins[n]);
                }

                if (n % 10 == 0)
                {
                    await Store.AppendAuditAsync([Audit($"extra/{w}/{n}")], Ct);
                }
            }
        })));

        Assert.All(wins, w => Assert.Equal(1, w));
        Assert.Equal(Events, await Store.CountPendingAsync("mx", Ct));
        var audit = await Store.ReadAuditAsync(0, null, 10_000, Ct);
        Assert.Equal((Events * 2) + (Writers * (Events / 10)), audit.Count);
        var verification = AuditChain.Verify(audit);
        Assert.True(verification.Ok, verification.Problem);

        // Each ingest's own records are adjacent: a transaction's batch is never interleaved with another's.
        foreach (var first in audit.Where(r => r.Entry.EventKey.EndsWith("/a", StringComparison.Ordinal)))
        {
            var next = audit[(int)first.Sequence]; // sequence n is at index n-1, so this is the record after it
            Assert.Equal(first.Entry.EventKey[..^2] + "/b", next.Entry.EventKey);
        }
    }

    [Fact]
    public async Task Outbox_rows_become_visible_in_id_order_under_concurrent_ingest()
    {
        // A delivery worker that saw row n must never later find a new row below n: it would deliver out of order.
        var writers = Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                var e = Event("mm", "town", $"w{w}-{i}");
                await Store.IngestAsync(e, [Draft(e, "mx", "!room")], [Audit(e.NativeId)], Ct);
            }
        })));

        var seen = new HashSet<long>();
        long max = 0;
        var polls = 0;
        while (true)
        {
            var finished = writers.IsCompleted;
            var ids = (await Store.GetPendingAsync("mx", [], 1000, Ct)).Select(i => i.Id).ToList();
            var late = ids.Where(id => !seen.Contains(id) && id < max).ToList();
            Assert.True(late.Count == 0, $"rows {string.Join(',', late)} appeared after row {max} had been seen");
            seen.UnionWith(ids);
            max = ids.Count == 0 ? max : Math.Max(max, ids.Max());
            polls++;
            if (finished)
            {
                break;
            }
        }

        await writers;
        Assert.Equal(160, seen.Count);
        Assert.True(polls > 1);
    }

    [Fact]
    public async Task Migrations_are_idempotent()
    {
        var e = Event("mm", "town", "p1");
        await Store.IngestAsync(e, [Draft(e, "mx", "!room")], [Audit("a1")], Ct);
        await Store.SetAsync("mx", "since", "s1", Ct);

        await Store.MigrateAsync(Ct);
        await using (var second = OpenStore())
        {
            await second.MigrateAsync(Ct);
            await second.MigrateAsync(Ct);
            Assert.Equal("s1", await second.GetAsync("mx", "since", Ct));
        }

        Assert.Equal(SchemaVersions, await ReadSchemaVersionsAsync());
        Assert.Equal(1, await Store.CountPendingAsync(null, Ct));
        Assert.Single(await Store.ReadAuditAsync(0, null, 10, Ct));
        Assert.False(await Store.IngestAsync(e, [], [], Ct));
    }

    /// <summary>
    /// Not a timed assertion: prints ingest and delivery rates so they can be compared between stores,
    /// and checks that everything ingested was delivered exactly once.
    /// </summary>
    [Fact]
    public async Task Throughput_of_ingest_and_delivery_is_reported()
    {
        const int Events = 1000;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < Events; i++)
        {
            var e = Event("mm", "town", "p" + i);
            await Store.IngestAsync(e, [Draft(e, "mx", "!room"), Draft(e, "xmpp", "muc")], [Audit("p" + i)], Ct);
        }

        var ingest = sw.Elapsed;
        sw.Restart();
        var delivered = 0;
        foreach (var network in new[] { "mx", "xmpp" })
        {
            while (true)
            {
                var batch = await Store.GetPendingAsync(network, [], 100, Ct);
                if (batch.Count == 0)
                {
                    break;
                }

                foreach (var item in batch)
                {
                    await Store.MarkDeliveredAsync(item, $"{network}-{item.Id}", Ct);
                    delivered++;
                }
            }
        }

        var deliver = sw.Elapsed;
        sw.Restart();
        const int Parallel = 4;
        await Task.WhenAll(Enumerable.Range(0, Parallel).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < Events / Parallel; i++)
            {
                var e = Event("mm", "town", $"q{w}-{i}");
                await Store.IngestAsync(e, [Draft(e, "mx", "!room")], [Audit("q")], Ct);
            }
        })));
        var parallelIngest = sw.Elapsed;

        Assert.Equal(2 * Events, delivered);
        Assert.Equal(Events, await Store.CountPendingAsync(null, Ct));
        Assert.Equal("mx-1", await Store.FindNativeIdAsync(new MessageOrigin("mm", "p0"), new ChannelRef("mx", "!room"), Ct));
        Assert.True(AuditChain.Verify(await Store.ReadAuditAsync(0, null, 10 * Events, Ct)).Ok);

        var line = $"THROUGHPUT {StoreName}: ingest {Events / ingest.TotalSeconds:F0} events/s (2 outbox rows + 1 audit each, sequential); " +
                   $"deliver {delivered / deliver.TotalSeconds:F0} rows/s (GetPending 100 + MarkDelivered, sequential); " +
                   $"ingest with {Parallel} concurrent writers {Events / parallelIngest.TotalSeconds:F0} events/s";
        Output.WriteLine(line);
        Console.WriteLine(line);
    }

    private static readonly AuditKey KeyOne = new(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private static readonly AuditKey KeyTwo = new(Enumerable.Range(101, 40).Select(i => (byte)i).ToArray());

    [Fact]
    public async Task A_skipped_or_dead_lettered_delivery_gets_an_outcome_record_after_its_decision()
    {
        var e = Event("mm", "town", "p1");
        await Store.IngestAsync(e, [Draft(e, "mx", "!room"), Draft(e, "xmpp", "muc"), Draft(e, "mm2", "town2")],
            [Audit("mm/p1", "delivered")], Ct);
        var toMatrix = Assert.Single(await Store.GetPendingAsync("mx", [], 10, Ct));
        var toXmpp = Assert.Single(await Store.GetPendingAsync("xmpp", [], 10, Ct));
        var toMm2 = Assert.Single(await Store.GetPendingAsync("mm2", [], 10, Ct));

        await Store.MarkSkippedAsync(toMatrix, "no emoji mapping for :blob:", Ct);
        await Store.DeadLetterAsync(toXmpp.Id, 5, "gave up after 5 attempts: 503", Ct);
        await Store.MarkDeliveredAsync(toMm2, "native-1", Ct);
        // A row that is no longer pending gets no second outcome (a worker retrying a skip after a crash).
        await Store.MarkSkippedAsync(toMatrix, "again", Ct);

        var audit = await Store.ReadAuditAsync(0, null, 100, Ct);
        Assert.Equal(3, audit.Count);
        var skipped = audit[1].Entry;
        Assert.Equal((DeliveryOutcomeAudit.Kind, DeliveryOutcomeAudit.Skipped, "no emoji mapping for :blob:"), (skipped.Kind, skipped.Decision, skipped.RuleId));
        Assert.Equal(("mm/p1", "link-1", "mx:!room", "mm", "alice"), (skipped.EventKey, skipped.LinkId, skipped.Destination, skipped.SourceNetwork, skipped.SourcePerson));
        var dead = audit[2].Entry;
        Assert.Equal((DeliveryOutcomeAudit.Kind, DeliveryOutcomeAudit.DeadLettered, "gave up after 5 attempts: 503"), (dead.Kind, dead.Decision, dead.RuleId));
        Assert.Equal(("mm/p1", "link-1", "xmpp:muc"), (dead.EventKey, dead.LinkId, dead.Destination));
        Assert.True(AuditChain.Verify(audit).Ok);

        var states = await Store.GetDeliveryStatesAsync("mm", "p1", Ct);
        Assert.Equal(
            [("mx:!room", OutboxState.Skipped), ("xmpp:muc", OutboxState.DeadLettered), ("mm2:town2", OutboxState.Delivered)],
            states.Select(d => (d.Destination.ToString(), d.State)));
        Assert.Single(await Store.GetDeadLettersAsync(10, Ct));
    }

    [Fact]
    public async Task A_keyed_store_macs_every_record_from_a_keyed_from_record_and_verifies_only_with_the_key()
    {
        await using var keyed = await OpenMigratedAsync(new AuditKeyRing(KeyOne));
        await keyed.AppendAuditAsync([Audit("a"), Audit("b")], Ct);
        var e = Event("mm", "town", "p1");
        await keyed.IngestAsync(e, [Draft(e, "mx", "!room")], [Audit("mm/p1")], Ct);
        await keyed.MarkSkippedAsync(Assert.Single(await keyed.GetPendingAsync("mx", [], 10, Ct)), "target-not-delivered", Ct);

        var records = await keyed.ReadAuditAsync(0, null, 100, Ct);
        Assert.Equal([AuditChain.KeyKind, "share", "share", "share", DeliveryOutcomeAudit.Kind], records.Select(r => r.Entry.Kind));
        Assert.Equal("keyed-from", records[0].Entry.Decision);
        Assert.All(records, r => Assert.Equal(KeyOne.Id, r.KeyId));

        Assert.True(AuditChain.Verify(records, keys: new AuditKeyRing(KeyOne)).Ok);
        // The MAC is not a plain hash: without the key the links are checked, the MACs are not (and the CLI says so).
        var noKey = await new AuditVerifier(keyed).VerifyAsync(Ct);
        Assert.True(noKey.Ok);
        Assert.Equal(records.Count, noKey.UnverifiedKeyed);
        Assert.Equal(1, noKey.KeyedFrom);
        var wrongKey = await new AuditVerifier(keyed, keys: new AuditKeyRing(KeyTwo)).VerifyAsync(Ct);
        Assert.False(wrongKey.Ok);
        Assert.Contains("not configured", wrongKey.Verification.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unkeyed_store_becomes_keyed_and_a_rotation_keeps_old_records_verifiable_with_the_retired_key()
    {
        await Store.AppendAuditAsync([Audit("plain-1"), Audit("plain-2")], Ct);
        await using (var keyed = await OpenMigratedAsync(new AuditKeyRing(KeyOne)))
        {
            await keyed.AppendAuditAsync([Audit("k1")], Ct);
        }

        await using (var rotated = await OpenMigratedAsync(new AuditKeyRing(KeyTwo, [KeyOne])))
        {
            await rotated.AppendAuditAsync([Audit("k2")], Ct);
        }

        var records = await Store.ReadAuditAsync(0, null, 100, Ct);
        Assert.Equal(["", "", KeyOne.Id, KeyOne.Id, KeyTwo.Id, KeyTwo.Id], records.Select(r => r.KeyId));
        Assert.Equal(("keyed-from", "key-rotation"), (records[2].Entry.Decision, records[4].Entry.Decision));

        var ok = await new AuditVerifier(Store, pageSize: 2, keys: new AuditKeyRing(KeyTwo, [KeyOne])).VerifyAsync(Ct);
        Assert.True(ok.Ok, ok.Verification.Problem);
        Assert.Equal((6L, 3L, 0L), (ok.Verification.RecordsChecked, ok.KeyedFrom!.Value, ok.UnverifiedKeyed));

        var withoutRetired = await new AuditVerifier(Store, keys: new AuditKeyRing(KeyTwo)).VerifyAsync(Ct);
        Assert.False(withoutRetired.Ok);
        Assert.Equal(3, withoutRetired.Verification.FirstBrokenSequence);
    }

    [Fact]
    public async Task A_new_key_takes_effect_at_start_once()
    {
        await Store.AppendAuditAsync([Audit("plain-1")], Ct);
        await using (var keyed = await OpenMigratedAsync(new AuditKeyRing(KeyOne)))
        {
        }

        await using (var again = await OpenMigratedAsync(new AuditKeyRing(KeyOne)))
        {
            await again.MigrateAsync(Ct);
        }

        var records = await Store.ReadAuditAsync(0, null, 100, Ct);
        Assert.Equal([("", "share"), (KeyOne.Id, AuditChain.KeyKind)], records.Select(r => (r.KeyId, r.Entry.Kind)));
        Assert.Equal($"audit-key/plain..{KeyOne.Id}", records[1].Entry.EventKey);
        Assert.True((await new AuditVerifier(Store, keys: new AuditKeyRing(KeyOne)).VerifyAsync(Ct)).Ok);
    }

    [Fact]
    public async Task A_trail_rewritten_with_recomputed_plain_hashes_is_detected_with_the_key()
    {
        await using (var keyed = await OpenMigratedAsync(new AuditKeyRing(KeyOne)))
        {
            for (var i = 0; i < 5; i++)
            {
                await keyed.AppendAuditAsync([Audit($"mm/p{i}", "blocked")], Ct);
            }
        }

        var keys = new AuditKeyRing(KeyOne);
        Assert.True((await new AuditVerifier(Store, keys: keys).VerifyAsync(Ct)).Ok);

        // The attacker changes one decision and re-chains the whole table with plain SHA-256, as an unkeyed store would be.
        await RewriteAuditAsync(records => records.Select(r => r.Sequence == 3 ? r with { Entry = r.Entry with { Decision = "delivered" } } : r).ToList());
        var rewritten = await Store.ReadAuditAsync(0, null, 100, Ct);
        Assert.True(AuditChain.Verify(rewritten).Ok); // a plain chain: consistent
        Assert.Equal("delivered", rewritten[2].Entry.Decision);

        var report = await new AuditVerifier(Store, keys: keys).VerifyAsync(Ct);
        Assert.False(report.Ok);
        Assert.Contains("no record is keyed", report.Verification.Problem, StringComparison.Ordinal);

        // Only an operator's explicit --allow-unkeyed (for a store that was never keyed) accepts such a trail.
        Assert.True((await new AuditVerifier(Store, keys: keys).VerifyAsync(Ct, allowUnkeyed: true)).Ok);
    }

    [Fact]
    public async Task Plain_records_after_the_trail_became_keyed_are_refused()
    {
        await Store.AppendAuditAsync([Audit("plain-1")], Ct);
        await using (var keyed = await OpenMigratedAsync(new AuditKeyRing(KeyOne)))
        {
            await keyed.AppendAuditAsync([Audit("k1"), Audit("k2"), Audit("k3")], Ct);
        }

        // Rewrite only the records after the keyed-from record, as plain ones (the attacker cannot MAC).
        await RewriteAuditAsync(records => records.Select(r => r.Sequence == 4 ? r with { Entry = r.Entry with { Decision = "delivered" } } : r).ToList(), fromSequence: 3);
        var report = await new AuditVerifier(Store, keys: new AuditKeyRing(KeyOne)).VerifyAsync(Ct);
        Assert.False(report.Ok);
        Assert.Equal(3, report.Verification.FirstBrokenSequence);
        Assert.Contains("not keyed although the trail is keyed", report.Verification.Problem, StringComparison.Ordinal);
    }

    private async Task<IBridgeStore> OpenMigratedAsync(AuditKeyRing keys)
    {
        var store = OpenStore(keys);
        await store.MigrateAsync(Ct);
        return store;
    }

    /// <summary>
    /// Plays an attacker with write access to the table: applies <paramref name="change"/> and recomputes every plain
    /// SHA-256 hash from <paramref name="fromSequence"/> on (stripping key ids), directly in the database.
    /// </summary>
    private async Task RewriteAuditAsync(Func<List<AuditRecord>, List<AuditRecord>> change, long fromSequence = 1)
    {
        var records = change((await Store.ReadAuditAsync(0, null, 10_000, Ct)).ToList());
        var sql = new System.Text.StringBuilder(AllowAuditUpdatesSql);
        var prev = fromSequence == 1 ? AuditChain.Genesis : records.Single(r => r.Sequence == fromSequence - 1).Hash;
        foreach (var r in records.Where(r => r.Sequence >= fromSequence))
        {
            var hash = AuditChain.ComputeHash(prev, r.Sequence, r.Entry);
            sql.Append($" UPDATE audit SET decision = '{r.Entry.Decision.Replace("'", "''", StringComparison.Ordinal)}', prev_hash = '{prev}', hash = '{hash}', key_id = '' WHERE seq = {r.Sequence};");
            prev = hash;
        }

        await ExecuteRawAsync(sql.ToString());
    }
}
