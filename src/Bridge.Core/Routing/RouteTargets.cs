using Bridge.Core.Configuration;
using Bridge.Core.Model;

namespace Bridge.Core.Routing;

/// <summary>
/// Where the router asks the policy about an event: every endpoint of every link of the event's channel except the
/// channel itself. Shared by <see cref="BridgeRouter"/> and <c>bridge policy test</c>, so the tester asks exactly the
/// questions the daemon asks.
/// </summary>
public static class RouteTargets
{
    /// <summary>The event as the policy sees it: a sender without an organisation belongs to the source network's.</summary>
    public static BridgeEvent WithSourceOrganisation(BridgeEvent e, NetworkDefinition source)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(source);
        return string.IsNullOrEmpty(e.Sender.Organisation) ? e with { Sender = e.Sender with { Organisation = source.Organisation } } : e;
    }

    /// <summary>Each (link, destination channel, destination network) the policy is asked about, in configuration order.</summary>
    public static IEnumerable<(LinkDefinition Link, ChannelRef Destination, NetworkDefinition Network)> For(
        BridgeTopology topology, IEnumerable<LinkDefinition> links, ChannelRef source)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(links);
        foreach (var link in links)
        {
            foreach (var destination in link.Endpoints)
            {
                if (destination != source && topology.TryGetNetwork(destination.NetworkId, out var network))
                {
                    yield return (link, destination, network);
                }
            }
        }
    }
}
