using Bridge.Core.Configuration;
using Bridge.Core.Model;

namespace Bridge.Core.Policy;

/// <summary>
/// Decides, for one event and one destination, whether and how the event crosses. Evaluated in the core for every
/// event and every destination; connectors never decide. Implementations must be thread-safe and side-effect free:
/// the router records the audit trail.
/// </summary>
public interface ISharingPolicy
{
    PolicyDecision Decide(PolicyContext context);
}

/// <summary>Everything a decision may look at.</summary>
public sealed record PolicyContext(
    BridgeEvent Event,
    LinkDefinition Link,
    NetworkDefinition SourceNetwork,
    ChannelRef Destination,
    NetworkDefinition DestinationNetwork);

public enum PolicyVerdict
{
    /// <summary>Delivered unchanged.</summary>
    Deliver,

    /// <summary>Delivered with changes (redactions, neutralised mentions, dropped attachments).</summary>
    DeliverModified,

    /// <summary>Not delivered.</summary>
    Block,
}

/// <summary>
/// A decision. <see cref="Event"/> is what to deliver (the original or a transformed copy); <see cref="RuleId"/> names the
/// rule that decided (public name only); <see cref="SenderNotice"/>, when set, is told to the sender.
/// </summary>
public sealed record PolicyDecision
{
    public required PolicyVerdict Verdict { get; init; }
    public required BridgeEvent Event { get; init; }
    public string RuleId { get; init; } = "default";
    public string? Label { get; init; }

    /// <summary>
    /// Which rule of the classification standard decided <see cref="Label"/> (e.g. <c>R-S1</c>, <c>R-L3</c>,
    /// <c>default</c>); null when no labels are configured. Shown by <c>bridge policy test</c> and kept in the audit trail.
    /// </summary>
    public string? LabelRule { get; init; }
    public string? SenderNotice { get; init; }
    public string Reason { get; init; } = "";

    public static PolicyDecision Allow(BridgeEvent e) => new() { Verdict = PolicyVerdict.Deliver, Event = e, Reason = "allowed" };
}

/// <summary>The policy when none is configured: everything crosses unchanged.</summary>
public sealed class AllowAllPolicy : ISharingPolicy
{
    public PolicyDecision Decide(PolicyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return PolicyDecision.Allow(context.Event);
    }
}
