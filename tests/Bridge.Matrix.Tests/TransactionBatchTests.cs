using System.Text.Json.Nodes;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using Bridge.Core.Storage.Sqlite;
using Bridge.Matrix.Tests.Support;
using Bridge.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Matrix.Tests;

/// <summary>An appservice transaction's events are ingested together: one store transaction, acknowledged only after it.</summary>
public sealed class TransactionBatchTests
{
    [Fact]
    public async Task A_transaction_of_messages_is_ingested_as_one_batch_in_order()
    {
        await using var h = await BridgeHarness.StartAsync();
        await BridgeHarness.WaitUntilAsync(() => h.Sandbox.GetPendingEventCount("bridge") == 0);
        var batchesBefore = h.Sink.Batches.Count;

        var txn = Txn(h.RoomId, Message("$b1", "one"), Message("$b2", "two"), Message("$b3", "three"));
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/b1", txn)).Status);

        Assert.Equal([3], h.Sink.Batches.Skip(batchesBefore));
        Assert.Equal(["one", "two", "three"], h.Sink.Accepted.Where(e => e.NativeId.StartsWith("$b", StringComparison.Ordinal)).Select(e => e.Text));
    }

    [Fact]
    public async Task A_member_event_in_the_middle_of_a_transaction_stores_what_came_before_it_first()
    {
        await using var h = await BridgeHarness.StartAsync();
        await BridgeHarness.WaitUntilAsync(() => h.Sandbox.GetPendingEventCount("bridge") == 0);
        var batchesBefore = h.Sink.Batches.Count;
        var join = Event("$j1", "m.room.member", new JsonObject { ["membership"] = "join", ["displayname"] = "Carol" });
        join["sender"] = "@carol:localhost";
        join["state_key"] = "@carol:localhost";

        var txn = Txn(h.RoomId, Message("$p1", "before"), Message("$p2", "before too"), join, Message("$p3", "after"));
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/mj1", txn)).Status);

        // Membership can open or close a DM portal and writes state: the two messages before it are stored (one batch)
        // before it is handled, the one after it in a batch of its own.
        Assert.Equal([2, 1], h.Sink.Batches.Skip(batchesBefore));
        Assert.Equal(["before", "before too", "after"], h.Sink.Accepted.Where(e => e.NativeId.StartsWith("$p", StringComparison.Ordinal)).Select(e => e.Text));
    }

    [Fact]
    public async Task A_redaction_of_a_reaction_earlier_in_the_same_transaction_takes_the_reaction_back()
    {
        await using var h = await BridgeHarness.StartAsync();
        await BridgeHarness.WaitUntilAsync(() => h.Sandbox.GetPendingEventCount("bridge") == 0);
        var reaction = Event("$r1", "m.reaction", new JsonObject
        {
            ["m.relates_to"] = new JsonObject { ["rel_type"] = "m.annotation", ["event_id"] = "$m1", ["key"] = "👍" },
        });
        var redaction = Event("$x1", "m.room.redaction", []);
        redaction["redacts"] = "$r1";

        var txn = Txn(h.RoomId, Message("$m1", "hello"), reaction, redaction, Message("$m2", "after"));
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/rx1", txn)).Status);

        var accepted = h.Sink.Accepted.Where(e => e.NativeId is "$m1" or "$r1" or "$x1" or "$m2").ToList();
        Assert.Equal(["$m1", "$r1", "$x1", "$m2"], accepted.Select(e => e.NativeId));
        var removed = accepted[2];
        Assert.Equal(BridgeEventKind.ReactionRemoved, removed.Kind);
        Assert.Equal("$m1", removed.TargetNativeId);
        Assert.Equal("👍", removed.ReactionKey);
    }

    [Fact]
    public async Task A_commit_that_fails_midway_stores_nothing_answers_500_and_the_retry_stores_each_event_once()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.db");
        await using var store = new SqliteBridgeStore(new SqliteStoreOptions { Path = path }, NullLogger<SqliteBridgeStore>.Instance);
        await store.MigrateAsync(CancellationToken.None);
        var router = new BridgeRouter(store, BridgeHarness.Topology(), new AllowAllPolicy(), new Bridge.Core.Delivery.DeliverySignals(),
            new Bridge.Core.Connectors.ConnectorRegistry(), new AuditOptions(), NullLogger<BridgeRouter>.Instance);
        await using var h = await BridgeHarness.StartAsync(core: router);
        await BridgeHarness.WaitUntilAsync(() => h.Sandbox.GetPendingEventCount("bridge") == 0);

        // The database refuses the second event's outbox row, as a full disk or a lost connection would mid-commit.
        await RawAsync(path, "CREATE TRIGGER refuse_boom BEFORE INSERT ON outbox WHEN NEW.origin_native_id = '$boom' BEGIN SELECT RAISE(ABORT, 'refused'); END;");
        var txn = Txn(h.RoomId, Message("$first", "first"), Message("$boom", "second"), Message("$third", "third"));

        Assert.Equal(500, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/f1", txn)).Status);
        Assert.Equal(0, await store.CountPendingAsync(null, CancellationToken.None));
        Assert.Null(await store.FindOriginAsync(BridgeHarness.Network, "$first", CancellationToken.None));
        Assert.Empty(await store.ReadAuditAsync(0, null, 10, CancellationToken.None));

        // The homeserver retries the same transaction once the store is well again.
        await RawAsync(path, "DROP TRIGGER refuse_boom;");
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/f1", txn)).Status);
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/f1", txn)).Status); // acknowledged again: a no-op

        var pending = await store.GetPendingAsync("xmpp", [], 10, CancellationToken.None);
        Assert.Equal(["$first", "$boom", "$third"], pending.Select(p => p.Event.NativeId));
        var audit = await store.ReadAuditAsync(0, null, 10, CancellationToken.None);
        Assert.Equal(3, audit.Count);
        Assert.True(Bridge.Core.Audit.AuditChain.Verify(audit).Ok);
    }

    private static async Task RawAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static string Txn(string roomId, params JsonObject[] events)
    {
        foreach (var e in events)
        {
            e["room_id"] = roomId;
        }

        return new JsonObject { ["events"] = new JsonArray([.. events]) }.ToJsonString();
    }

    private static JsonObject Message(string eventId, string body) =>
        Event(eventId, "m.room.message", new JsonObject { ["msgtype"] = "m.text", ["body"] = body });

    private static JsonObject Event(string eventId, string type, JsonObject content) => new()
    {
        ["type"] = type,
        ["sender"] = "@alice:localhost",
        ["event_id"] = eventId,
        ["origin_server_ts"] = 1_700_000_000_000,
        ["content"] = content,
    };
}
