using Bridge.Core.Connectors;
using Bridge.Core.Connectors.Capabilities;
using Bridge.Core.Model;
using Bridge.Core.Text;
using Bridge.Tests.Support;

namespace Bridge.Tests.Core;

/// <summary>What a destination gets when its connector declares it cannot show an event as sent: decided by the core, in one place.</summary>
public sealed class DegradationTests
{
    private static DeliveryRequest Request(BridgeEvent e, string? target = "dest-1") => new()
    {
        OutboxId = 7,
        LinkId = "link",
        Destination = new ChannelRef("b", "room"),
        Event = e,
        TargetNativeId = target,
        Label = "OFFICIAL",
    };

    private static BridgeEvent Event(BridgeEventKind kind, string text = "", string? key = null) => CoreHarness.Message("a", "room", "n1", text) with
    {
        Kind = kind,
        TargetNativeId = kind == BridgeEventKind.Message ? null : "m1",
        ReactionKey = key,
    };

    [Fact]
    public void What_the_network_can_show_goes_as_sent()
    {
        var request = Request(Event(BridgeEventKind.Reaction, key: "👍"));
        var degraded = DeliveryDegradation.Apply(request, new NetworkCapabilities(), _ => true);
        Assert.Same(request, degraded.Request);
        Assert.Null(degraded.How);
    }

    [Fact]
    public void A_reaction_key_the_network_cannot_show_becomes_an_emote_in_reply_to_the_message()
    {
        var degraded = DeliveryDegradation.Apply(Request(Event(BridgeEventKind.Reaction, key: ":partyparrot:")), new NetworkCapabilities(), EmojiKey.IsEmoji);
        var e = degraded.Request!.Event;
        Assert.Equal(BridgeEventKind.Message, e.Kind);
        Assert.Equal(MessageKind.Emote, e.MessageKind);
        Assert.Equal("reacted :partyparrot:", e.Text);
        Assert.Null(e.ReactionKey);
        Assert.Equal("dest-1", degraded.Request.ReplyToNativeId);
        Assert.Null(degraded.Request.TargetNativeId);
        Assert.Equal("OFFICIAL", degraded.Request.Label); // the label the row carries is kept
        Assert.Equal("reaction shown as text", degraded.How);
    }

    [Fact]
    public void Its_removal_is_shown_the_same_way_and_a_network_without_reactions_gets_text_for_every_key()
    {
        var none = new NetworkCapabilities { Reactions = false };
        Assert.Equal("reacted 👍", DeliveryDegradation.Apply(Request(Event(BridgeEventKind.Reaction, key: "👍")), none, _ => true).Request!.Event.Text);
        Assert.Equal("took back 👍", DeliveryDegradation.Apply(Request(Event(BridgeEventKind.ReactionRemoved, key: "👍")), none, _ => true).Request!.Event.Text);
        Assert.Equal("took back +1", DeliveryDegradation.Apply(Request(Event(BridgeEventKind.ReactionRemoved, key: "+1")), new NetworkCapabilities(), EmojiKey.IsEmoji).Request!.Event.Text);
    }

    [Fact]
    public void A_removal_where_reactions_cannot_be_taken_back_is_skipped_with_a_reason()
    {
        var degraded = DeliveryDegradation.Apply(Request(Event(BridgeEventKind.ReactionRemoved, key: "👍")), new NetworkCapabilities { ReactionRemoval = false }, _ => true);
        Assert.Null(degraded.Request);
        Assert.StartsWith("reaction-removal-unsupported", degraded.How, StringComparison.Ordinal);
    }

    [Fact]
    public void An_edit_where_messages_cannot_change_becomes_a_marked_correction_in_reply()
    {
        var degraded = DeliveryDegradation.Apply(Request(Event(BridgeEventKind.Edit, "fixed text") with { Html = "<b>fixed</b>" }), new NetworkCapabilities { Edits = false }, _ => true);
        var r = degraded.Request!;
        Assert.Equal(BridgeEventKind.Message, r.Event.Kind);
        Assert.Equal(DeliveryDegradation.CorrectionMark + "fixed text", r.Event.Text);
        Assert.Equal(DeliveryDegradation.CorrectionMark + "<b>fixed</b>", r.Event.Html);
        Assert.Equal("dest-1", r.ReplyToNativeId);
        Assert.Null(r.TargetNativeId);
    }

    [Fact]
    public void A_retraction_where_messages_cannot_be_taken_back_says_so_and_no_reply_where_replies_are_unknown()
    {
        var degraded = DeliveryDegradation.Apply(Request(Event(BridgeEventKind.Delete)), new NetworkCapabilities { Deletes = false, Replies = false }, _ => true);
        Assert.Equal("took back this message", degraded.Request!.Event.Text);
        Assert.Null(degraded.Request.ReplyToNativeId);
    }

    [Theory]
    [InlineData("👍", true)]
    [InlineData("👍🏽", true)]
    [InlineData("❤️", true)]
    [InlineData("1️⃣", true)]
    [InlineData("#️⃣", true)]
    [InlineData("🏳️‍🌈", true)]
    [InlineData("🇫🇷", true)]
    [InlineData("👨‍👩‍👧", true)]
    [InlineData(":partyparrot:", false)]
    [InlineData("+1", false)]
    [InlineData("lol", false)]
    [InlineData("1", false)]
    [InlineData("a👍", false)]
    [InlineData("", false)]
    [InlineData("\u200D", false)]
    public void Emoji_keys_are_told_from_words(string key, bool emoji) => Assert.Equal(emoji, EmojiKey.IsEmoji(key));

    [Fact]
    public async Task The_delivery_worker_applies_it_a_reaction_the_destination_cannot_show_arrives_as_text_in_reply()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].ReactionKeys = EmojiKey.IsEmoji;
        h.Connectors["b"].Capabilities = new NetworkCapabilities { ReactionRemoval = false };
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "hello"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m2", "") with { Kind = BridgeEventKind.Reaction, TargetNativeId = "m1", ReactionKey = "👍" }, default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m3", "") with { Kind = BridgeEventKind.Reaction, TargetNativeId = "m1", ReactionKey = ":blob:" }, default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m4", "") with { Kind = BridgeEventKind.ReactionRemoved, TargetNativeId = "m1", ReactionKey = "👍" }, default);
        while (await h.Worker("b").RunOnceAsync(default))
        {
        }

        var delivered = h.Connectors["b"].Delivered.ToList();
        Assert.Equal(3, delivered.Count);
        var first = delivered[0];
        Assert.Equal(BridgeEventKind.Reaction, delivered[1].Event.Kind);
        Assert.Equal("👍", delivered[1].Event.ReactionKey);
        Assert.Equal((BridgeEventKind.Message, MessageKind.Emote, "reacted :blob:"), (delivered[2].Event.Kind, delivered[2].Event.MessageKind, delivered[2].Event.Text));
        Assert.Equal(delivered[1].TargetNativeId, delivered[2].ReplyToNativeId);
        Assert.NotNull(delivered[2].ReplyToNativeId);
        Assert.Equal(BridgeEventKind.Message, first.Event.Kind);
        Assert.Equal(0, await h.Store.CountPendingAsync("b", default)); // the removal was skipped, not left waiting
    }
}
