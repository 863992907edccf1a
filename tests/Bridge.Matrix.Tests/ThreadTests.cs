using System.Text.Json.Nodes;
using Bridge.Core.Connectors;
using Bridge.Matrix.Tests.Support;

namespace Bridge.Matrix.Tests;

/// <summary>Matrix threads: m.thread in (root, fallback or real reply) and out (with the fallback older clients show).</summary>
public sealed class ThreadTests
{
    private static JsonObject Relation(string rootId, string inReplyTo, bool fallingBack) => new()
    {
        ["rel_type"] = "m.thread",
        ["event_id"] = rootId,
        ["is_falling_back"] = fallingBack,
        ["m.in_reply_to"] = new JsonObject { ["event_id"] = inReplyTo },
    };

    [Fact]
    public async Task A_thread_message_names_its_root_and_only_a_real_reply_names_another_event()
    {
        await using var h = await BridgeHarness.StartAsync();
        var root = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "root");
        var first = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = "first", ["m.relates_to"] = Relation(root, root, fallingBack: true) });
        var fallback = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = "second", ["m.relates_to"] = Relation(root, first, fallingBack: true) });
        var answer = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = "answer to first", ["m.relates_to"] = Relation(root, first, fallingBack: false) });
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == answer));

        var byId = h.Sink.Accepted.ToDictionary(e => e.NativeId);
        Assert.Null(byId[root].ThreadRootNativeId);
        Assert.Equal((root, root), (byId[first].ThreadRootNativeId, byId[first].ReplyToNativeId));
        Assert.Equal((root, root), (byId[fallback].ThreadRootNativeId, byId[fallback].ReplyToNativeId)); // the fallback is not a reply
        Assert.Equal((root, first), (byId[answer].ThreadRootNativeId, byId[answer].ReplyToNativeId));
    }

    [Fact]
    public async Task A_delivery_in_a_thread_is_an_m_thread_whose_fallback_follows_the_newest_event()
    {
        await using var h = await BridgeHarness.StartAsync();
        var root = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "root");
        JsonObject Relates(string id) => h.Sandbox.GetMessages(h.RoomId).Single(m => m["event_id"]!.GetValue<string>() == id)["content"]!["m.relates_to"]!.AsObject();

        var first = h.Request(20, "first in thread") with { ThreadRootNativeId = root };
        first = first with { Event = first.Event with { ThreadRootNativeId = "mm-root", ReplyToNativeId = "mm-root" }, ReplyToNativeId = root };
        var firstId = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(first, CancellationToken.None)).NativeId;
        var relates = Relates(firstId);
        Assert.Equal(("m.thread", root, true, root),
            (relates["rel_type"]!.GetValue<string>(), relates["event_id"]!.GetValue<string>(), relates["is_falling_back"]!.GetValue<bool>(), relates["m.in_reply_to"]!["event_id"]!.GetValue<string>()));

        // Someone on Matrix answers in the thread; the next bridged message falls back to that newest event.
        var local = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = "local", ["m.relates_to"] = Relation(root, firstId, fallingBack: true) });
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == local));
        var second = h.Request(21, "second in thread") with { ThreadRootNativeId = root };
        second = second with { Event = second.Event with { ThreadRootNativeId = "mm-root" } };
        var secondId = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(second, CancellationToken.None)).NativeId;
        Assert.Equal((root, local), (Relates(secondId)["event_id"]!.GetValue<string>(), Relates(secondId)["m.in_reply_to"]!["event_id"]!.GetValue<string>()));

        // A message that answers one event of the thread names it as a real reply.
        var third = h.Request(22, "answer to first") with { ThreadRootNativeId = root, ReplyToNativeId = firstId };
        third = third with { Event = third.Event with { ThreadRootNativeId = "mm-root", ReplyToNativeId = "mm-first" } };
        var thirdId = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(third, CancellationToken.None)).NativeId;
        Assert.Equal((false, firstId), (Relates(thirdId)["is_falling_back"]!.GetValue<bool>(), Relates(thirdId)["m.in_reply_to"]!["event_id"]!.GetValue<string>()));

        // Without a thread root here (it never arrived), a reply stays a plain rich reply.
        var plain = h.Request(23, "plain reply") with { ReplyToNativeId = root };
        var plainId = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(plain, CancellationToken.None)).NativeId;
        Assert.Null(Relates(plainId)["rel_type"]);
    }

    [Fact]
    public async Task A_thread_event_moves_the_threads_tail_even_before_the_core_could_store_it()
    {
        await using var h = await BridgeHarness.StartAsync();
        var root = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "root");
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == root));
        JsonObject Relates(string id) => h.Sandbox.GetMessages(h.RoomId).Single(m => m["event_id"]!.GetValue<string>() == id)["content"]!["m.relates_to"]!.AsObject();

        // The store refuses the transaction (the homeserver will push it again): the event is in the room's thread all the same.
        h.Sink.FailNext = 1_000;
        var calls = h.Sink.Calls;
        var local = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = "local", ["m.relates_to"] = Relation(root, root, fallingBack: true) });
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Calls > calls);

        var request = h.Request(30, "in the thread") with { ThreadRootNativeId = root };
        request = request with { Event = request.Event with { ThreadRootNativeId = "mm-root" } };
        var id = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None)).NativeId;
        h.Sink.FailNext = 0;

        Assert.Equal(local, Relates(id)["m.in_reply_to"]!["event_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_thread_the_homeserver_refuses_is_delivered_as_a_reply_instead_of_lost()
    {
        await using var h = await BridgeHarness.StartAsync();
        var root = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "root");
        var inThread = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message",
            new JsonObject { ["msgtype"] = "m.text", ["body"] = "in thread", ["m.relates_to"] = Relation(root, root, fallingBack: true) });

        // A root mapped from another network that is itself a thread message here: Synapse refuses a thread under it.
        var request = h.Request(30, "under a thread message") with { ThreadRootNativeId = inThread };
        var id = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None)).NativeId;
        var relates = h.Sandbox.GetMessages(h.RoomId).Single(m => m["event_id"]!.GetValue<string>() == id)["content"]!["m.relates_to"]!;
        Assert.Null(relates["rel_type"]);
        Assert.Equal(inThread, relates["m.in_reply_to"]!["event_id"]!.GetValue<string>());
    }
}
