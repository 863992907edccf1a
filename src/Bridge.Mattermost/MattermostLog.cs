using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost;

internal static class MattermostLog
{
    public static readonly EventId HttpRetry = new(5001, nameof(HttpRetry));
    public static readonly EventId StartupFailed = new(5002, nameof(StartupFailed));
    public static readonly EventId Started = new(5003, nameof(Started));
    public static readonly EventId RelayMode = new(5004, nameof(RelayMode));
    public static readonly EventId WebSocketState = new(5005, nameof(WebSocketState));
    public static readonly EventId CatchUp = new(5006, nameof(CatchUp));
    public static readonly EventId SequenceGap = new(5007, nameof(SequenceGap));
    public static readonly EventId PuppetCreated = new(5008, nameof(PuppetCreated));
    public static readonly EventId DeliveryFailed = new(5009, nameof(DeliveryFailed));
    public static readonly EventId InboundFailed = new(5010, nameof(InboundFailed));
    public static readonly EventId GuestUnavailable = new(5011, nameof(GuestUnavailable));
    public static readonly EventId WebSocketDead = new(5012, nameof(WebSocketDead));
    public static readonly EventId CatchUpPaged = new(5013, nameof(CatchUpPaged));
    public static readonly EventId ChannelsChanged = new(5014, nameof(ChannelsChanged));
    public static readonly EventId MembershipRepaired = new(5015, nameof(MembershipRepaired));
    public static readonly EventId ReactionIgnored = new(5016, nameof(ReactionIgnored));
    public static readonly EventId AttachmentNotCopied = new(5017, nameof(AttachmentNotCopied));
    public static readonly EventId MediaServed = new(5018, nameof(MediaServed));
    public static readonly EventId CatchUpHurried = new(5019, nameof(CatchUpHurried));
    public static readonly EventId CursorSaveFailed = new(5020, nameof(CursorSaveFailed));
    public static readonly EventId ThreadRefused = new(5040, nameof(ThreadRefused));
}
