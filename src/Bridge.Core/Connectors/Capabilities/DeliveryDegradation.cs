using Bridge.Core.Model;

namespace Bridge.Core.Connectors.Capabilities;

/// <summary>
/// The one place that decides what a destination gets when it cannot show an event as sent, from the capabilities its
/// connector declares. Runs at delivery, after the policy: the degraded form carries only what the policy passed (the
/// reaction key, the edited text), and the label the row already has.
/// </summary>
/// <remarks>
/// - A reaction the network cannot show (no reactions, or not that key) becomes a short emote in reply to the message:
///   "reacted ⚜". Its removal becomes "took back ⚜" the same way, so the room never shows a reaction that is gone.
/// - A reaction removal on a network that can add but not remove reactions is skipped (the reaction stays).
/// - An edit on a network without edits becomes a new message in reply to the first, marked as a correction.
/// - A retraction on a network without deletes becomes a short emote in reply to the message.
/// Threads, files and rich text are degraded by the connectors' own rendering (reply, link notice, plain text) and
/// only reported in the table.
/// </remarks>
internal static class DeliveryDegradation
{
    /// <summary>The marker a correction carries where edits cannot be shown in place.</summary>
    public const string CorrectionMark = "✎ ";

    /// <summary>What to deliver instead of <paramref name="request"/>: the request itself, another one, or a reason to skip it.</summary>
    public static Degraded Apply(DeliveryRequest request, NetworkCapabilities capabilities, Func<string, bool> canShowReaction)
    {
        var e = request.Event;
        switch (e.Kind)
        {
            case BridgeEventKind.Reaction when !capabilities.Reactions || !canShowReaction(e.ReactionKey ?? ""):
                return AsEmote(request, capabilities, $"reacted {e.ReactionKey}", "reaction shown as text");
            case BridgeEventKind.ReactionRemoved when !capabilities.Reactions || !canShowReaction(e.ReactionKey ?? ""):
                return AsEmote(request, capabilities, $"took back {e.ReactionKey}", "reaction removal shown as text");
            case BridgeEventKind.ReactionRemoved when !capabilities.ReactionRemoval:
                return new Degraded(null, "reaction-removal-unsupported: the network cannot take a reaction back");
            case BridgeEventKind.Edit when !capabilities.Edits:
                return new Degraded(request with
                {
                    Event = e with { Kind = BridgeEventKind.Message, Text = CorrectionMark + e.Text, Html = e.Html is null ? null : CorrectionMark + e.Html, TargetNativeId = null },
                    ReplyToNativeId = capabilities.Replies ? request.TargetNativeId : null,
                    TargetNativeId = null,
                }, "edit shown as a correction");
            case BridgeEventKind.Delete when !capabilities.Deletes:
                return AsEmote(request, capabilities, "took back this message", "retraction shown as text");
            default:
                return new Degraded(request, null);
        }
    }

    private static Degraded AsEmote(DeliveryRequest request, NetworkCapabilities capabilities, string text, string how) => new(request with
    {
        Event = request.Event with
        {
            Kind = BridgeEventKind.Message,
            MessageKind = MessageKind.Emote,
            Text = text,
            Html = null,
            TextFormat = TextFormat.Plain,
            ReactionKey = null,
            TargetNativeId = null,
            Attachments = [],
        },
        ReplyToNativeId = capabilities.Replies ? request.TargetNativeId : null,
        TargetNativeId = null,
        Translation = null,
    }, how);
}

/// <summary>The outcome of <see cref="DeliveryDegradation.Apply"/>: what to deliver (null: skip with <see cref="How"/>), and how it was degraded (null: as sent).</summary>
internal sealed record Degraded(DeliveryRequest? Request, string? How);
