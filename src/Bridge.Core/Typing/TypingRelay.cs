using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Typing;

/// <summary>
/// Passes typing to every linked channel whose network shows it, as the sender's puppet. The policy decides as for an
/// empty message from the same person: where such a message would be blocked (barrier, sender rules, clearance below the
/// label an empty message gets), typing does not go either. Nothing is written to the store; each destination is told in
/// the background with a short timeout, and a failure is only logged at debug level.
/// </summary>
public sealed class TypingRelay(BridgeTopology topology, ISharingPolicy policy, ConnectorRegistry connectors, ILogger logger) : ITypingSink
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public void Typing(ChannelRef channel, PersonRef person, bool typing)
    {
        ArgumentNullException.ThrowIfNull(person);
        var links = topology.LinksFor(channel);
        if (links.Count == 0 || !topology.TryGetNetwork(channel.NetworkId, out var source))
        {
            return;
        }
        var probe = RouteTargets.WithSourceOrganisation(new BridgeEvent
        {
            NetworkId = channel.NetworkId,
            ChannelId = channel.ChannelId,
            NativeId = "typing",
            Sender = person,
        }, source);
        foreach (var (link, destination, network) in RouteTargets.For(topology, links, channel))
        {
            if (connectors.Find(destination.NetworkId) is not { IsReady: true, Capabilities.Typing: true } connector || connector is not ITypingTarget target)
            {
                continue;
            }
            PolicyDecision decision;
            try
            {
                var context = new PolicyContext(probe, link, source, destination, network);
                decision = link.Source == LinkSource.Direct ? Direct.DirectLinkPolicy.Decide(policy, topology, context) : policy.Decide(context);
            }
            catch (Exception e)
            {
                logger.LogDebug(TypingLog.NotShown, e, "Typing toward {Destination} not shown: the policy failed", destination);
                continue; // fail closed
            }
            if (decision.Verdict == PolicyVerdict.Block)
            {
                continue;
            }
            _ = ShowAsync(target, destination, decision.Event.Sender, typing);
        }
    }

    private async Task ShowAsync(ITypingTarget target, ChannelRef destination, PersonRef person, bool typing)
    {
        try
        {
            using var timeout = new CancellationTokenSource(Timeout);
            await target.ShowTypingAsync(destination, person, typing, timeout.Token);
        }
        catch (Exception e)
        {
            logger.LogDebug(TypingLog.NotShown, "Typing of {Person} toward {Destination} not shown: {Error}", person.Key, destination, e.Message);
        }
    }
}

internal static class TypingLog
{
    public static readonly EventId NotShown = new(1961, nameof(NotShown));
}
