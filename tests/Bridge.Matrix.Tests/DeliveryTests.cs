using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Matrix.Tests.Support;

namespace Bridge.Matrix.Tests;

/// <summary>Bridge → homeserver: puppets, idempotent sends, echo suppression, rate limits, outages.</summary>
public sealed class DeliveryTests
{
    private static readonly string Carol = BridgeHarness.CarolPuppet;

    [Fact]
    public async Task Puppet_is_registered_named_invited_and_sends_with_the_right_meaning()
    {
        await using var h = await BridgeHarness.StartAsync();
        var result = await h.Connector.DeliverAsync(h.Request(10, "hi from xmpp"), CancellationToken.None);
        var delivered = Assert.IsType<DeliveryResult.Delivered>(result);

        Assert.Contains(Carol, h.Sandbox.GetMembers(h.RoomId));
        Assert.Equal("Carol", h.Sandbox.GetProfile(Carol)["displayname"]!.GetValue<string>());
        var message = h.Sandbox.GetMessages(h.RoomId).Single();
        Assert.Equal(delivered.NativeId, message["event_id"]!.GetValue<string>());
        Assert.Equal(Carol, message["sender"]!.GetValue<string>());
        Assert.Equal("m.text", message["content"]!["msgtype"]!.GetValue<string>());
        Assert.Empty(message["content"]!["m.mentions"]!.AsObject());

        await h.Connector.DeliverAsync(h.Request(11, "waves", messageKind: MessageKind.Emote), CancellationToken.None);
        await h.Connector.DeliverAsync(h.Request(12, "automated", messageKind: MessageKind.Notice, html: "<b>automated</b>"), CancellationToken.None);
        var messages = h.Sandbox.GetMessages(h.RoomId);
        Assert.Equal("m.emote", messages[1]["content"]!["msgtype"]!.GetValue<string>());
        Assert.Equal("m.notice", messages[2]["content"]!["msgtype"]!.GetValue<string>());
        Assert.Equal("<b>automated</b>", messages[2]["content"]!["formatted_body"]!.GetValue<string>());
        Assert.Null(messages[0]["content"]!["formatted_body"]);

        // The homeserver pushes the puppet's messages back: they are never bridged again.
        await BridgeHarness.WaitUntilAsync(() => h.Sandbox.GetPendingEventCount("bridge") == 0);
        Assert.DoesNotContain(h.Sink.Accepted, e => e.Sender.UserId == Carol);
    }

    [Fact]
    public async Task Classification_label_is_carried_in_the_content_field_and_the_text_is_left_as_the_core_made_it()
    {
        await using var h = await BridgeHarness.StartAsync();
        var request = h.Request(5, "[CUI] plan") with { Label = "CUI" };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None));
        var content = h.Sandbox.GetMessages(h.RoomId).Single()["content"]!;
        Assert.Equal("[CUI] plan", content["body"]!.GetValue<string>());
        Assert.Equal("CUI", content["org.bridge.classification"]!.GetValue<string>());

        // And inbound, the same field becomes a structured label.
        var eventId = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message", new System.Text.Json.Nodes.JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = "labelled",
            ["org.bridge.classification"] = "SECRET",
        });
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == eventId));
        Assert.Equal(["SECRET"], h.Sink.Accepted.Single(e => e.NativeId == eventId).StructuredLabels);

        // Present but empty or not a string: passed on so that the core ranks it highest (R-S1), never dropped.
        var empty = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message", new System.Text.Json.Nodes.JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = "empty label",
            ["org.bridge.classification"] = "",
        });
        var number = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message", new System.Text.Json.Nodes.JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = "numeric label",
            ["org.bridge.classification"] = 3,
        });
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == number) && h.Sink.Accepted.Any(e => e.NativeId == empty));
        Assert.Equal([""], h.Sink.Accepted.Single(e => e.NativeId == empty).StructuredLabels);
        Assert.Equal([StructuredLabel.NotAString], h.Sink.Accepted.Single(e => e.NativeId == number).StructuredLabels);
    }

    [Fact]
    public async Task Retrying_the_same_outbox_item_reuses_the_transaction_id_and_sends_once()
    {
        await using var h = await BridgeHarness.StartAsync();
        var first = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(42, "exactly once"), CancellationToken.None));
        var again = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(42, "exactly once"), CancellationToken.None));
        Assert.Equal(first.NativeId, again.NativeId);
        Assert.Single(h.Sandbox.GetMessages(h.RoomId));
    }

    [Fact]
    public async Task Display_name_follows_the_person_and_edits_reactions_deletes_target_the_native_event()
    {
        await using var h = await BridgeHarness.StartAsync();
        var sent = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(1, "v1"), CancellationToken.None));
        await h.Connector.DeliverAsync(h.Request(2, "v2", BridgeEventKind.Edit, target: sent.NativeId, personName: "Carol C."), CancellationToken.None);
        Assert.Equal("Carol C.", h.Sandbox.GetProfile(Carol)["displayname"]!.GetValue<string>());
        await h.Connector.DeliverAsync(h.Request(3, "", BridgeEventKind.Reaction, target: sent.NativeId, personName: "Carol C."), CancellationToken.None);
        var redaction = await h.Connector.DeliverAsync(h.Request(4, "", BridgeEventKind.Delete, target: sent.NativeId, personName: "Carol C."), CancellationToken.None);
        Assert.IsType<DeliveryResult.Delivered>(redaction);
        var noTarget = await h.Connector.DeliverAsync(h.Request(5, "x", BridgeEventKind.Edit, target: null), CancellationToken.None);
        Assert.IsType<DeliveryResult.Skipped>(noTarget);

        var timeline = h.Sandbox.GetTimeline(h.RoomId);
        var edit = timeline.Single(e => e["content"]?["m.new_content"] is not null);
        Assert.Equal(sent.NativeId, edit["content"]!["m.relates_to"]!["event_id"]!.GetValue<string>());
        Assert.Equal("v2", edit["content"]!["m.new_content"]!["body"]!.GetValue<string>());
        Assert.Contains(timeline, e => e["type"]!.GetValue<string>() == "m.reaction");
        Assert.Contains(timeline, e => e["type"]!.GetValue<string>() == "m.room.redaction" && e["redacts"]!.GetValue<string>() == sent.NativeId);
    }

    [Fact]
    public async Task Rate_limit_becomes_a_retry_after_result_without_sleeping()
    {
        await using var h = await BridgeHarness.StartAsync();
        await h.Connector.DeliverAsync(h.Request(1, "warm up"), CancellationToken.None);
        h.Sandbox.RateLimitPerSecond = 1;
        DeliveryResult.RetryLater? limited = null;
        for (var i = 0; i < 5 && limited is null; i++)
        {
            limited = await h.Connector.DeliverAsync(h.Request(100 + i, "burst " + i), CancellationToken.None) as DeliveryResult.RetryLater;
        }

        Assert.NotNull(limited);
        Assert.False(limited.CountsAsAttempt);
        Assert.Equal(NetworkFault.RateLimited, limited.Fault);
        Assert.NotNull(limited.After);
        Assert.InRange(limited.After!.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1));

        h.Sandbox.RateLimitPerSecond = null;
        var retried = await h.Connector.DeliverAsync(h.Request(100, "burst 0"), CancellationToken.None);
        Assert.IsType<DeliveryResult.Delivered>(retried);
    }

    [Fact]
    public async Task Homeserver_500_is_a_server_error_retry_that_never_counts_toward_dead_lettering()
    {
        await using var h = await BridgeHarness.StartAsync();
        await h.Connector.DeliverAsync(h.Request(1, "warm up"), CancellationToken.None);
        h.Sandbox.FailWithServerErrors(TimeSpan.FromMinutes(1));
        var failed = Assert.IsType<DeliveryResult.RetryLater>(await h.Connector.DeliverAsync(h.Request(2, "during"), CancellationToken.None));
        Assert.Equal(NetworkFault.ServerError, failed.Fault);
        Assert.False(failed.Counts);
        Assert.Contains("500", failed.Reason, StringComparison.Ordinal);

        h.Sandbox.ClearFaults();
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(2, "during"), CancellationToken.None));
    }

    [Fact]
    public async Task Homeserver_outage_is_a_retry_that_does_not_count_and_the_connector_recovers()
    {
        await using var h = await BridgeHarness.StartAsync();
        await h.Sandbox.StopAsync();
        var down = await h.Connector.DeliverAsync(h.Request(7, "queued"), CancellationToken.None);
        var retry = Assert.IsType<DeliveryResult.RetryLater>(down);
        Assert.False(retry.CountsAsAttempt);
        Assert.False(h.Connector.IsReady);

        await h.Sandbox.StartAsync();
        await BridgeHarness.WaitUntilAsync(() => h.Connector.IsReady);
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(7, "queued"), CancellationToken.None));
        Assert.Single(h.Sandbox.GetMessages(h.RoomId));
    }

    [Fact]
    public async Task Messages_from_the_bridge_namespace_are_skipped_not_puppeted()
    {
        await using var h = await BridgeHarness.StartAsync();
        var request = h.Request(9, "loop?") with
        {
            Event = h.Request(9, "loop?").Event with
            {
                NetworkId = BridgeHarness.Network,
                Sender = new PersonRef { NetworkId = BridgeHarness.Network, UserId = Carol, DisplayName = "Carol" },
            },
        };
        Assert.IsType<DeliveryResult.Skipped>(await h.Connector.DeliverAsync(request, CancellationToken.None));
        Assert.Empty(h.Sandbox.GetMessages(h.RoomId));
    }
}
