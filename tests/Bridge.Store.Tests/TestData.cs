using Bridge.Core.Audit;
using Bridge.Core.Model;
using Bridge.Core.Storage;

namespace Bridge.Store.Tests;

/// <summary>Small builders so each test reads as the behaviour it checks.</summary>
internal static class TestData
{
    /// <summary>A fixed instant with sub-millisecond ticks, to prove audit times round-trip exactly.</summary>
    public static readonly DateTimeOffset Noon = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);

    public static BridgeEvent Event(string network, string channel, string nativeId, BridgeEventKind kind = BridgeEventKind.Message, string text = "hello") => new()
    {
        NetworkId = network,
        ChannelId = channel,
        NativeId = nativeId,
        Kind = kind,
        Text = text,
        TargetNativeId = kind == BridgeEventKind.Message ? null : "target-1",
        Sender = new PersonRef { NetworkId = network, UserId = "alice", DisplayName = "Alice" },
        Timestamp = Noon,
        StructuredLabels = ["internal"],
    };

    public static OutboxDraft Draft(BridgeEvent e, string destNetwork, string destChannel, string? label = null) =>
        new("link-1", new ChannelRef(destNetwork, destChannel), e, label);

    public static AuditDraft Audit(string eventKey, string decision = "allow", string? content = null, DateTimeOffset? at = null) => new()
    {
        At = at ?? Noon,
        Kind = "share",
        LinkId = "link-1",
        EventKey = eventKey,
        SourceNetwork = "mm",
        SourcePerson = "mm/alice",
        Destination = "mx:!room",
        Decision = decision,
        RuleId = "rule-7",
        Label = "internal",
        ContentHash = content is null ? "" : AuditChain.HashContent(content),
        Content = content,
    };
}
