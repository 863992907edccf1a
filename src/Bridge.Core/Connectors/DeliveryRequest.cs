using Bridge.Core.Model;

namespace Bridge.Core.Connectors;

/// <summary>One event to deliver into one channel, with references already translated to the destination's native ids.</summary>
public sealed record DeliveryRequest
{
    /// <summary>Stable id of the outbox row: use it to derive idempotency keys (Matrix txn id, Mattermost pending_post_id, XMPP id).</summary>
    public required long OutboxId { get; init; }

    public required string LinkId { get; init; }

    public required ChannelRef Destination { get; init; }

    /// <summary>The event after policy (redactions applied). Its NetworkId/NativeId are the origin's.</summary>
    public required BridgeEvent Event { get; init; }

    /// <summary>For edits, deletes and reactions: the destination-native id of the target message (null if unknown).</summary>
    public string? TargetNativeId { get; init; }

    /// <summary>For replies: the destination-native id of the message replied to (null if unknown).</summary>
    public string? ReplyToNativeId { get; init; }

    /// <summary>For a message in a thread: the destination-native id of the thread's root (null if not in a thread, or the root never arrived here).</summary>
    public string? ThreadRootNativeId { get; init; }

    /// <summary>The classification label the destination must carry (structured and visible), if any.</summary>
    public string? Label { get; init; }

    /// <summary>
    /// Set when this destination reads another language than the sender writes (translation configured): then
    /// <see cref="Event"/> carries the translated text when <see cref="MessageTranslation.Translated"/> is true, and the
    /// original either way; the connector shows the original next to the translation where its network allows.
    /// </summary>
    public MessageTranslation? Translation { get; init; }

    /// <summary>How many earlier attempts failed.</summary>
    public int Attempt { get; init; }

    /// <summary>
    /// When the outbox row was written (the store's clock), or null when not known. A connector compares it with its own
    /// start: a row queued before may have been delivered by a run that was killed before recording it.
    /// </summary>
    public DateTimeOffset? QueuedAt { get; init; }

    /// <summary>A stable idempotency key for this delivery.</summary>
    public string IdempotencyKey => $"bridge-{OutboxId}";
}

/// <summary>What the translation stage did to one delivery: the original text, both languages, and the engine.</summary>
/// <param name="OriginalText">The text as the policy passed it (markers included), before translation.</param>
/// <param name="OriginalHtml">The HTML as the policy passed it, if any.</param>
/// <param name="SourceLanguage">The sender's language (BCP 47 code as configured, e.g. <c>en</c>).</param>
/// <param name="TargetLanguage">The destination's language.</param>
/// <param name="Engine">The configured engine id that was asked.</param>
/// <param name="Translated">False when the original is delivered instead (engine failed, too slow, or a marker did not survive).</param>
/// <param name="Reason">Why the original is delivered untranslated; null when translated.</param>
public sealed record MessageTranslation(string OriginalText, string? OriginalHtml, string SourceLanguage, string TargetLanguage, string Engine,
    bool Translated, string? Reason = null);
