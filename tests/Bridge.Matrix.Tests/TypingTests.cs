using System.Text.Json.Nodes;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Direct;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Storage.Sqlite;
using Bridge.Matrix.Tests.Support;
using Bridge.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Matrix.Tests;

/// <summary>
/// Matrix typing through the connector and the sandbox homeserver: m.typing in transactions (stable or MSC2409's unstable
/// key) becomes start/stop per real person, never for our own users or unlinked rooms, a malformed EDU costs only itself;
/// a puppet that exists shows typing with PUT /typing, and typing never makes a puppet.
/// </summary>
public sealed class TypingTests
{
    private static readonly ChannelRef Linked = new(BridgeHarness.Network, BridgeHarness.Channel);

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task A_person_typing_in_a_linked_room_is_reported_as_start_then_stop_and_our_puppets_are_not(bool stable, bool unstable)
    {
        await using var h = await BridgeHarness.StartAsync(registration: r =>
        {
            r.ReceiveEphemeral = stable;
            r.ReceiveEphemeralUnstable = unstable;
        });
        // Carol's puppet exists and is in the room (it delivered a message); the bot is in the room too.
        Assert.IsType<Bridge.Core.Connectors.DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(1, "hello from carol"), CancellationToken.None));

        h.Sandbox.SetTyping(h.RoomId, BridgeHarness.CarolPuppet, true);
        h.Sandbox.SetTyping(h.RoomId, BridgeHarness.Bot, true);
        h.Sandbox.SetTyping(h.RoomId, h.Alice.UserId, true);
        await BridgeHarness.WaitUntilAsync(() => !h.Typing.Reports.IsEmpty);
        h.Sandbox.SetTyping(h.RoomId, h.Alice.UserId, false);
        await BridgeHarness.WaitUntilAsync(() => h.Typing.Reports.Count >= 2);
        h.Sandbox.SetTyping(h.RoomId, BridgeHarness.CarolPuppet, false);
        h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "after typing");
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.Text == "after typing") && h.Sandbox.GetPendingEventCount("bridge") == 0);

        Assert.Equal(["@alice:localhost:start", "@alice:localhost:stop"], h.Typing.Seen);
        var (channel, person, _) = h.Typing.Reports.First();
        Assert.Equal(Linked, channel);
        Assert.Equal(new PersonRef { NetworkId = BridgeHarness.Network, UserId = h.Alice.UserId, DisplayName = "" }.Key, person.Key);
        Assert.Equal("alice", person.Handle); // the name from member events seen, else the localpart: typing asks the homeserver nothing
    }

    [Fact]
    public async Task Without_ephemeral_in_the_registration_no_typing_arrives_and_messages_still_do()
    {
        await using var h = await BridgeHarness.StartAsync();
        h.Sandbox.SetTyping(h.RoomId, h.Alice.UserId, true);
        h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "typed");
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.Text == "typed") && h.Sandbox.GetPendingEventCount("bridge") == 0);
        Assert.Empty(h.Typing.Reports);
    }

    [Fact]
    public async Task Malformed_or_unlinked_typing_is_dropped_and_nothing_else_in_the_transaction_is_lost()
    {
        await using var h = await BridgeHarness.StartAsync();
        JsonObject Typing(string room, JsonNode? userIds) => new() { ["type"] = "m.typing", ["room_id"] = room, ["content"] = new JsonObject { ["user_ids"] = userIds } };
        var body = new JsonObject
        {
            ["events"] = new JsonArray(new JsonObject
            {
                ["type"] = "m.room.message", ["room_id"] = h.RoomId, ["sender"] = h.Alice.UserId, ["event_id"] = "$kept",
                ["origin_server_ts"] = 1_700_000_000_000, ["content"] = new JsonObject { ["msgtype"] = "m.text", ["body"] = "kept" },
            }),
            ["ephemeral"] = new JsonArray(
                "not an object",
                new JsonObject { ["type"] = 5 },
                new JsonObject { ["type"] = "m.typing", ["content"] = new JsonObject { ["user_ids"] = new JsonArray("@x:localhost") } },
                Typing(h.RoomId, "@alice:localhost"),
                Typing(h.RoomId, new JsonArray(5)),
                Typing(h.RoomId, new JsonArray("alice")),
                Typing(h.RoomId, new JsonArray([.. Enumerable.Range(0, 1001).Select(i => (JsonNode)$"@u{i}:localhost")])),
                Typing("!unlinked:localhost", new JsonArray("@erin:localhost")),
                new JsonObject { ["type"] = "m.receipt", ["room_id"] = h.RoomId, ["content"] = new JsonObject() },
                Typing(h.RoomId, new JsonArray("@dave:localhost", "@_bridge_someone:localhost", BridgeHarness.Bot))),
        };
        var ack = await h.PutTransactionAsync("/_matrix/app/v1/transactions/typing-1", body.ToJsonString());
        Assert.Equal(200, ack.Status);
        Assert.Contains(h.Sink.Accepted, e => e.Text == "kept");
        Assert.Equal(["@dave:localhost:start"], h.Typing.Seen);

        // An ephemeral section that is not an array: the events are still taken.
        var second = new JsonObject { ["events"] = new JsonArray(), ["de.sorunome.msc2409.ephemeral"] = "oops" };
        second["events"]!.AsArray().Add(body["events"]![0]!.DeepClone().AsObject().Also(e => { e["event_id"] = "$kept2"; e["content"]!["body"] = "kept too"; }));
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/typing-2", second.ToJsonString())).Status);
        Assert.Contains(h.Sink.Accepted, e => e.Text == "kept too");

        // The same people typing again is no news; Dave gone is a stop.
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/typing-3",
            new JsonObject { ["events"] = new JsonArray(), ["ephemeral"] = new JsonArray(Typing(h.RoomId, new JsonArray("@dave:localhost"))) }.ToJsonString())).Status);
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/typing-4",
            new JsonObject { ["events"] = new JsonArray(), ["ephemeral"] = new JsonArray(Typing(h.RoomId, new JsonArray())) }.ToJsonString())).Status);
        Assert.Equal(["@dave:localhost:start", "@dave:localhost:stop"], h.Typing.Seen);
    }

    [Fact]
    public async Task Someone_still_typing_is_reported_again_and_no_longer_once_stopped()
    {
        await using var h = await BridgeHarness.StartAsync();
        string Edu(params string[] users) => new JsonObject
        {
            ["events"] = new JsonArray(),
            ["ephemeral"] = new JsonArray(new JsonObject
            {
                ["type"] = "m.typing", ["room_id"] = h.RoomId,
                ["content"] = new JsonObject { ["user_ids"] = new JsonArray([.. users.Select(u => (JsonNode)u)]) },
            }),
        }.ToJsonString();

        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/r1", Edu("@dave:localhost"))).Status);
        var before = h.Typing.Reports.Count;
        h.Connector.RepeatTyping(); // the homeserver sends nothing while the list stays the same: the connector repeats it
        Assert.True(h.Typing.Reports.Count > before);
        Assert.Equal(("@dave:localhost", true), (h.Typing.Reports.Last().Person.UserId, h.Typing.Reports.Last().Typing));

        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/r2", Edu())).Status);
        var stopped = h.Typing.Reports.Count;
        h.Connector.RepeatTyping();
        Assert.Equal(stopped, h.Typing.Reports.Count);
        Assert.Equal(["@dave:localhost:start", "@dave:localhost:stop"], h.Typing.Seen);
    }

    [Fact]
    public async Task A_puppet_that_exists_shows_typing_and_stops_and_typing_never_makes_a_puppet()
    {
        await using var h = await BridgeHarness.StartAsync();
        await h.Connector.DeliverAsync(h.Request(1, "hello from carol"), CancellationToken.None);
        var carol = h.Request(2, "x").Event.Sender;

        await h.Connector.ShowTypingAsync(Linked, carol, true, CancellationToken.None);
        Assert.Equal([BridgeHarness.CarolPuppet], h.Sandbox.GetTyping(h.RoomId));
        await h.Connector.ShowTypingAsync(Linked, carol, false, CancellationToken.None);
        Assert.Empty(h.Sandbox.GetTyping(h.RoomId));

        var erin = new PersonRef { NetworkId = "xmpp", UserId = "erin@example.org", DisplayName = "Erin" };
        await h.Connector.ShowTypingAsync(Linked, erin, true, CancellationToken.None);
        Assert.Empty(h.Sandbox.GetTyping(h.RoomId));
        Assert.DoesNotContain(h.Sandbox.GetMembers(h.RoomId), m => m.Contains("erin", StringComparison.OrdinalIgnoreCase));
        Assert.True(Bridge.Matrix.Connector.MatrixConnector.Declared.Typing);
    }
}

/// <summary>
/// What the connector tells the relay when its picture of who types is lost or wrong: a repeat never overtakes a stop,
/// whoever is forgotten (the bot left, the room unlinked, a DM room closed or its portal gone, a malformed list) is
/// stopped, and in a DM room only the portal's party counts.
/// </summary>
public sealed class TypingStateTests
{
    private const string Dave = "@dave:localhost";

    private static string Txn(JsonArray events, params JsonObject[] ephemeral) =>
        new JsonObject { ["events"] = events, ["ephemeral"] = new JsonArray([.. ephemeral]) }.ToJsonString();

    private static JsonObject Edu(string room, params string[] users) => new()
    {
        ["type"] = "m.typing", ["room_id"] = room,
        ["content"] = new JsonObject { ["user_ids"] = new JsonArray([.. users.Select(u => (JsonNode)u)]) },
    };

    private static JsonObject Member(string room, string userId, string membership) => new()
    {
        ["type"] = "m.room.member", ["room_id"] = room, ["sender"] = userId, ["state_key"] = userId, ["event_id"] = "$" + Guid.NewGuid().ToString("N"),
        ["origin_server_ts"] = 1_700_000_000_000, ["content"] = new JsonObject { ["membership"] = membership },
    };

    private static async Task PushAsync(BridgeHarness h, JsonArray events, params JsonObject[] ephemeral) =>
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/" + Guid.NewGuid().ToString("N"), Txn(events, ephemeral))).Status);

    [Fact]
    public async Task A_repeat_under_way_never_overtakes_a_stop()
    {
        await using var h = await BridgeHarness.StartAsync();
        await PushAsync(h, [], Edu(h.RoomId, Dave));

        // A repeat is held inside the relay while it reports Dave; meanwhile the homeserver says nobody types.
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var armed = 1;
        h.Typing.BeforeRecord = (person, typing) =>
        {
            if (typing && person.UserId == Dave && Interlocked.Exchange(ref armed, 0) == 1)
            {
                held.Set();
                release.Wait();
            }
        };
        var repeat = Task.Run(h.Connector.RepeatTyping);
        Assert.True(await Task.Run(() => held.Wait(TimeSpan.FromSeconds(15))));
        var stop = PushAsync(h, [], Edu(h.RoomId));
        await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(2))); // the stop may finish first only if nothing orders it after the repeat
        release.Set();
        await repeat;
        await stop;
        h.Connector.RepeatTyping();

        Assert.Equal([Dave + ":start", Dave + ":stop"], h.Typing.Seen); // never "start" again after the stop
    }

    [Theory]
    [InlineData("not-an-array")]
    [InlineData("not-a-user-id")]
    [InlineData("a-number")]
    [InlineData("a-flood")]
    [InlineData("no-content")]
    public async Task A_malformed_list_for_a_room_whose_typing_is_known_stops_everyone_known(string kind)
    {
        await using var h = await BridgeHarness.StartAsync();
        await PushAsync(h, [], Edu(h.RoomId, Dave));
        var bad = new JsonObject { ["type"] = "m.typing", ["room_id"] = h.RoomId };
        JsonNode? ids = kind switch
        {
            "not-an-array" => Dave,
            "not-a-user-id" => new JsonArray(Dave, "dave"),
            "a-number" => new JsonArray(Dave, 5),
            "a-flood" => new JsonArray([.. Enumerable.Range(0, Bridge.Matrix.Connector.MatrixConnector.MaxTypingUsers + 1).Select(i => (JsonNode)$"@u{i}:localhost")]),
            _ => null,
        };
        if (kind != "no-content")
        {
            bad["content"] = new JsonObject { ["user_ids"] = ids };
        }

        await PushAsync(h, [], bad);
        h.Connector.RepeatTyping();

        Assert.Equal([Dave + ":start", Dave + ":stop"], h.Typing.Seen);
    }

    [Fact]
    public async Task When_the_bot_leaves_a_room_everyone_known_there_is_stopped_and_no_longer_repeated()
    {
        await using var h = await BridgeHarness.StartAsync();
        await PushAsync(h, [], Edu(h.RoomId, Dave));
        await PushAsync(h, [Member(h.RoomId, BridgeHarness.Bot, "leave")]); // kicked: no m.typing comes from there any more
        h.Connector.RepeatTyping();

        Assert.Equal([Dave + ":start", Dave + ":stop"], h.Typing.Seen);
    }

    [Fact]
    public async Task When_the_room_is_unlinked_everyone_known_there_is_stopped_and_no_longer_repeated()
    {
        await using var h = await BridgeHarness.StartAsync();
        await PushAsync(h, [], Edu(h.RoomId, Dave));
        await h.Connector.ChannelsChangedAsync([], [BridgeHarness.Channel], CancellationToken.None);
        h.Connector.RepeatTyping();

        Assert.Equal([Dave + ":start", Dave + ":stop"], h.Typing.Seen);
    }

    [Fact]
    public async Task In_a_direct_room_only_the_portal_party_s_typing_counts()
    {
        await using var dm = await DirectRoom.StartAsync();
        await PushAsync(dm.H, [], Edu(DirectRoom.RoomId, "@eve:localhost", DirectRoom.Party));
        await PushAsync(dm.H, [], Edu(DirectRoom.RoomId, "@eve:localhost"));

        Assert.Equal([DirectRoom.Party + ":start", DirectRoom.Party + ":stop"], dm.H.Typing.Seen);
        Assert.All(dm.H.Typing.Reports, r => Assert.Equal(new ChannelRef(BridgeHarness.Network, DirectRoom.RoomId), r.Channel));
    }

    [Fact]
    public async Task When_a_third_member_closes_a_direct_room_the_party_is_stopped_and_never_repeated()
    {
        await using var dm = await DirectRoom.StartAsync();
        await PushAsync(dm.H, [], Edu(DirectRoom.RoomId, DirectRoom.Party));
        await PushAsync(dm.H, [Member(DirectRoom.RoomId, "@eve:localhost", "join")]);
        Assert.Equal([DirectRoom.Party + ":start", DirectRoom.Party + ":stop"], dm.H.Typing.Seen); // told as the room closes
        dm.H.Connector.RepeatTyping();
        await PushAsync(dm.H, [], Edu(DirectRoom.RoomId, DirectRoom.Party, "@eve:localhost"));
        dm.H.Connector.RepeatTyping();

        Assert.Equal([DirectRoom.Party + ":start", DirectRoom.Party + ":stop"], dm.H.Typing.Seen);
    }

    [Fact]
    public async Task When_a_direct_portal_is_no_longer_in_force_the_party_is_stopped_and_never_repeated()
    {
        await using var dm = await DirectRoom.StartAsync();
        await PushAsync(dm.H, [], Edu(DirectRoom.RoomId, DirectRoom.Party));
        dm.Topology.ReplaceDirectLinks([]);
        dm.H.Connector.RepeatTyping();
        dm.H.Connector.RepeatTyping();

        Assert.Equal([DirectRoom.Party + ":start", DirectRoom.Party + ":stop"], dm.H.Typing.Seen);
    }

    /// <summary>The connector with a DM portal in force: Alice (Matrix) in <see cref="RoomId"/> with Erin (XMPP).</summary>
    private sealed class DirectRoom : IAsyncDisposable
    {
        public const string RoomId = "!dm:localhost";
        public const string Party = "@alice:localhost";

        private readonly TempDirectory _dir;
        private readonly SqliteBridgeStore _store;
        private readonly ServiceProvider _services;

        private DirectRoom(TempDirectory dir, SqliteBridgeStore store, ServiceProvider services, BridgeTopology topology, BridgeHarness h)
        {
            (_dir, _store, _services, Topology, H) = (dir, store, services, topology, h);
        }

        public BridgeHarness H { get; }

        public BridgeTopology Topology { get; }

        public static async Task<DirectRoom> StartAsync()
        {
            var dir = new TempDirectory();
            var store = new SqliteBridgeStore(new SqliteStoreOptions { Path = dir.File("bridge.db") }, NullLogger<SqliteBridgeStore>.Instance);
            var topology = new BridgeTopology(
                [new NetworkDefinition { Id = BridgeHarness.Network, Kind = NetworkKind.Matrix, DirectMessages = true },
                 new NetworkDefinition { Id = "xmpp", Kind = NetworkKind.Xmpp, DirectMessages = true }], []);
            await store.MigrateAsync(CancellationToken.None);
            var registry = new DirectPortalRegistry(store, NullLogger<DirectPortalRegistry>.Instance);
            var portal = new DirectPortal
            {
                Id = DirectPortal.IdFor(BridgeHarness.Network + "/" + Party, "xmpp/erin@example.org"),
                First = new DirectParty { NetworkId = BridgeHarness.Network, UserId = Party, ChannelId = RoomId, DisplayName = "Alice" },
                Second = new DirectParty { NetworkId = "xmpp", UserId = "erin@example.org", ChannelId = "erin@example.org", DisplayName = "Erin" },
            };
            await registry.SaveAsync(portal, CancellationToken.None);
            topology.ReplaceDirectLinks([portal.ToLink()]);
            var direct = new DirectMessages(topology, registry, new ConnectorRegistry(), new AllowAllPolicy(), store, new DeliverySignals(), NullLogger<DirectMessages>.Instance);
            var services = new ServiceCollection().AddSingleton(direct).BuildServiceProvider();
            var h = await BridgeHarness.StartAsync(services: services);
            return new DirectRoom(dir, store, services, topology, h);
        }

        public async ValueTask DisposeAsync()
        {
            await H.DisposeAsync();
            await _services.DisposeAsync();
            await _store.DisposeAsync();
            _dir.Dispose();
        }
    }
}

internal static class JsonObjectTestExtensions
{
    public static JsonObject Also(this JsonObject obj, Action<JsonObject> change)
    {
        change(obj);
        return obj;
    }
}
