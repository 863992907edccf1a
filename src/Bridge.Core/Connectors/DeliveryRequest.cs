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

    /// <summary>The classification label the destination must carry (structured and visible), if any.</summary>
    public string? Label { get; init; }

    /// <summary>How many earlier attempts failed.</summary>
    public int Attempt { get; init; }

    /// <summary>A stable idempotency key for this delivery.</summary>
    public string IdempotencyKey => $"bridge-{OutboxId}";
}
