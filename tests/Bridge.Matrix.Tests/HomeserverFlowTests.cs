using Bridge.Core.Model;
using Bridge.Matrix.Tests.Support;

namespace Bridge.Matrix.Tests;

/// <summary>Homeserver → bridge through the sandbox's real transaction pushing.</summary>
public sealed class HomeserverFlowTests
{
    [Fact]
    public async Task Bot_accepts_the_invite_and_a_room_message_reaches_the_core_under_the_configured_channel()
    {
        await using var h = await BridgeHarness.StartAsync();
        var eventId = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "hello bridge");
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == eventId));
        var e = h.Sink.Accepted.Single(x => x.NativeId == eventId);
        Assert.Equal(BridgeHarness.Channel, e.ChannelId);
        Assert.Equal("matrix", e.NetworkId);
        Assert.Equal(h.Alice.UserId, e.Sender.UserId);
        Assert.Equal("Alice Liddell", e.Sender.DisplayName);
        Assert.Equal("hello bridge", e.Text);
    }

    [Fact]
    public async Task Ingest_failure_answers_500_and_the_homeserver_retry_delivers_exactly_once()
    {
        await using var h = await BridgeHarness.StartAsync();
        await BridgeHarness.WaitUntilAsync(() => h.Sandbox.GetPendingEventCount("bridge") == 0);
        var before = h.Sandbox.GetTransactionAttempts("bridge").Count;
        h.Sink.FailNext = 2;
        var eventId = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "survives a store hiccup");
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == eventId));
        await BridgeHarness.WaitUntilAsync(() => h.Sandbox.GetPendingEventCount("bridge") == 0);

        var attempts = h.Sandbox.GetTransactionAttempts("bridge").Skip(before).ToList();
        Assert.Equal(new int?[] { 500, 500, 200 }, attempts.Select(a => a.Status));
        Assert.Single(attempts.Select(a => a.TxnId).Distinct());
        Assert.Single(h.Sink.Accepted, e => e.NativeId == eventId);
    }

    [Fact]
    public async Task Legacy_homeserver_paths_work_unchanged()
    {
        await using var h = await BridgeHarness.StartAsync(legacyHomeserver: true);
        var eventId = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "from an older server", msgtype: "m.emote");
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == eventId));
        Assert.Equal(MessageKind.Emote, h.Sink.Accepted.Single(e => e.NativeId == eventId).MessageKind);
        Assert.All(h.Sandbox.GetTransactionAttempts("bridge"), a => Assert.StartsWith("/transactions/", a.Path, StringComparison.Ordinal));

        var delivered = await h.Connector.DeliverAsync(h.Request(1, "answer"), CancellationToken.None);
        Assert.IsType<Bridge.Core.Connectors.DeliveryResult.Delivered>(delivered);
    }

    [Fact]
    public async Task Edits_replies_reactions_and_redactions_are_normalised()
    {
        await using var h = await BridgeHarness.StartAsync();
        var original = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "first");
        var edit = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message", new System.Text.Json.Nodes.JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = "* second",
            ["m.new_content"] = new System.Text.Json.Nodes.JsonObject { ["msgtype"] = "m.text", ["body"] = "second" },
            ["m.relates_to"] = new System.Text.Json.Nodes.JsonObject { ["rel_type"] = "m.replace", ["event_id"] = original },
        });
        var reply = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message", new System.Text.Json.Nodes.JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = "> <@alice:localhost> first\n\nanswer",
            ["m.relates_to"] = new System.Text.Json.Nodes.JsonObject { ["m.in_reply_to"] = new System.Text.Json.Nodes.JsonObject { ["event_id"] = original } },
        });
        var reaction = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.reaction", new System.Text.Json.Nodes.JsonObject
        {
            ["m.relates_to"] = new System.Text.Json.Nodes.JsonObject { ["rel_type"] = "m.annotation", ["event_id"] = original, ["key"] = "👍" },
        });
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Count >= 4);
        var byId = h.Sink.Accepted.ToDictionary(e => e.NativeId);
        Assert.Equal((BridgeEventKind.Edit, original, "second"), (byId[edit].Kind, byId[edit].TargetNativeId, byId[edit].Text));
        Assert.Equal((original, "answer"), (byId[reply].ReplyToNativeId, byId[reply].Text));
        Assert.Equal((BridgeEventKind.Reaction, original, "👍"), (byId[reaction].Kind, byId[reaction].TargetNativeId, byId[reaction].ReactionKey));
    }
}
