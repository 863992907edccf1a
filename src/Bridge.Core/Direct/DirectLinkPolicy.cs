using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Bridge.Core.Policy;

namespace Bridge.Core.Direct;

/// <summary>
/// The policy for a direct portal. A portal's id is no policy link, so the per-link rules (allow/deny lists, one-way
/// blocks, lowered per-destination clearances, content rules) are those of every configured link that connects the two
/// networks: the event must pass each of them (strictest wins; a change one makes is seen by the next). Two networks
/// that no link connects have no DMs at all (fail closed).
/// </summary>
public static class DirectLinkPolicy
{
    public const string NoLinkRule = "direct-no-link";

    /// <summary>The configured (non-direct) links with an endpoint on both networks.</summary>
    public static IReadOnlyList<LinkDefinition> GoverningLinks(BridgeTopology topology, string networkA, string networkB)
    {
        ArgumentNullException.ThrowIfNull(topology);
        return [.. topology.Links.Where(l => l.Source != LinkSource.Direct
            && l.Endpoints.Any(e => e.NetworkId == networkA) && l.Endpoints.Any(e => e.NetworkId == networkB))];
    }

    /// <summary>The decision for <paramref name="context"/> (whose link is a portal) under the portal's own rules and every governing link's.</summary>
    public static PolicyDecision Decide(ISharingPolicy policy, BridgeTopology topology, PolicyContext context)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(context);
        var governing = GoverningLinks(topology, context.SourceNetwork.Id, context.DestinationNetwork.Id);
        if (governing.Count == 0)
        {
            return new PolicyDecision
            {
                Verdict = PolicyVerdict.Block,
                Event = context.Event,
                RuleId = NoLinkRule,
                Reason = $"no link connects {context.SourceNetwork.Id} and {context.DestinationNetwork.Id}",
            };
        }

        var current = policy.Decide(context);
        var modified = current.Verdict == PolicyVerdict.DeliverModified;
        foreach (var link in governing)
        {
            if (current.Verdict == PolicyVerdict.Block)
            {
                return current;
            }

            var next = policy.Decide(context with { Event = current.Event, Link = link });
            modified |= next.Verdict == PolicyVerdict.DeliverModified;
            current = next with { SenderNotice = next.SenderNotice ?? current.SenderNotice };
        }

        return current.Verdict == PolicyVerdict.Block ? current
            : current with { Verdict = modified ? PolicyVerdict.DeliverModified : PolicyVerdict.Deliver };
    }
}
