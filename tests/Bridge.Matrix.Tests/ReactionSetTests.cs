using System.Text.Json.Nodes;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Matrix.Tests.Support;

namespace Bridge.Matrix.Tests;

/// <summary>Reactions with set semantics on Matrix: a removal is the redaction of the reaction event, both ways.</summary>
public sealed class ReactionSetTests
{
    [Fact]
    public async Task Redacting_a_reaction_becomes_a_removal_of_that_key_and_redacting_a_message_stays_a_delete()
    {
        await using var h = await BridgeHarness.StartAsync();
        var original = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "react to me");
        JsonObject Annotation(string key) => new()
        {
            ["m.relates_to"] = new JsonObject { ["rel_type"] = "m.annotation", ["event_id"] = original, ["key"] = key },
        };
        var thumbs = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.reaction", Annotation("👍"));
        h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.reaction", Annotation("🎉"));
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Count(e => e.Kind == BridgeEventKind.Reaction) == 2);

        var redaction = h.Sandbox.Redact(h.RoomId, h.Alice.UserId, thumbs);
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == redaction));
        var removal = h.Sink.Accepted.Single(e => e.NativeId == redaction);
        Assert.Equal((BridgeEventKind.ReactionRemoved, original, "👍", h.Alice.UserId),
            (removal.Kind, removal.TargetNativeId, removal.ReactionKey, removal.Sender.UserId));

        // The same key again is a new reaction; a redaction of the message itself is still a delete.
        h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.reaction", Annotation("👍"));
        var delete = h.Sandbox.Redact(h.RoomId, h.Alice.UserId, original);
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == delete));
        Assert.Equal(3, h.Sink.Accepted.Count(e => e.Kind == BridgeEventKind.Reaction));
        Assert.Equal((BridgeEventKind.Delete, original), (h.Sink.Accepted.Single(e => e.NativeId == delete).Kind, h.Sink.Accepted.Single(e => e.NativeId == delete).TargetNativeId));
    }

    [Fact]
    public async Task A_removal_from_elsewhere_redacts_the_puppets_reaction_and_a_second_add_is_not_sent_twice()
    {
        await using var h = await BridgeHarness.StartAsync();
        var sent = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(1, "hello"), CancellationToken.None));
        var added = Assert.IsType<DeliveryResult.Delivered>(
            await h.Connector.DeliverAsync(h.Request(2, "", BridgeEventKind.Reaction, target: sent.NativeId), CancellationToken.None));
        // The same key from the same person again (another network's duplicate): Synapse would refuse it; not sent.
        Assert.IsType<DeliveryResult.Skipped>(await h.Connector.DeliverAsync(h.Request(3, "", BridgeEventKind.Reaction, target: sent.NativeId), CancellationToken.None));

        var removed = Assert.IsType<DeliveryResult.Delivered>(
            await h.Connector.DeliverAsync(h.Request(4, "", BridgeEventKind.ReactionRemoved, target: sent.NativeId), CancellationToken.None));
        var timeline = h.Sandbox.GetTimeline(h.RoomId);
        var redaction = timeline.Single(e => e["event_id"]!.GetValue<string>() == removed.NativeId);
        Assert.Equal(("m.room.redaction", added.NativeId), (redaction["type"]!.GetValue<string>(), redaction["redacts"]!.GetValue<string>()));
        Assert.Equal(redaction["sender"]!.GetValue<string>(), timeline.Single(e => e["event_id"]!.GetValue<string>() == added.NativeId)["sender"]!.GetValue<string>());

        // Nothing left to take back; and the key can be given again.
        Assert.IsType<DeliveryResult.Skipped>(await h.Connector.DeliverAsync(h.Request(5, "", BridgeEventKind.ReactionRemoved, target: sent.NativeId), CancellationToken.None));
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(6, "", BridgeEventKind.Reaction, target: sent.NativeId), CancellationToken.None));
    }
}
