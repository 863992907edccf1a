using System.Text.Json.Nodes;
using Bridge.Core.Model;
using Bridge.Matrix.Tests.Support;

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

internal static class JsonObjectTestExtensions
{
    public static JsonObject Also(this JsonObject obj, Action<JsonObject> change)
    {
        change(obj);
        return obj;
    }
}
