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
/// the background with a short timeout, and a failure is only logged at debug level. A paused link carries no typing.
/// Remote input cannot turn into a flood of requests toward another server: only a change of state is passed on, a
/// repeated "typing" at most once per <see cref="Repeat"/> per person and destination, and at most
/// <see cref="MaxInFlight"/> requests are out at once (more are dropped: typing is never owed).
/// </summary>
public sealed class TypingRelay(BridgeTopology topology, ISharingPolicy policy, ConnectorRegistry connectors, ILogger logger, TimeProvider? time = null) : ITypingSink
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>How often a person still typing is told again to one destination.</summary>
    public static readonly TimeSpan Repeat = TimeSpan.FromSeconds(3);

    public const int MaxInFlight = 16;

    /// <summary>Bound on the remembered (person, destination) states; past it the map starts over (a repeat may then pass early).</summary>
    private const int MaxRemembered = 10_000;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Person, ChannelRef Destination), (bool Typing, DateTimeOffset At)> _last = [];
    private int _inFlight;

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
            if (link.Paused)
            {
                continue;
            }

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
            if (!IsNews(person.Key, destination, typing))
            {
                continue;
            }

            if (Interlocked.Increment(ref _inFlight) > MaxInFlight)
            {
                Interlocked.Decrement(ref _inFlight);
                logger.LogDebug(TypingLog.NotShown, "Typing toward {Destination} dropped: {Max} typing requests already out", destination, MaxInFlight);
                continue;
            }

            _ = ShowAsync(target, destination, decision.Event.Sender, typing);
        }
    }

    /// <summary>A change of state, or "still typing" after <see cref="Repeat"/>: worth telling the destination.</summary>
    private bool IsNews(string person, ChannelRef destination, bool typing)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_last.TryGetValue((person, destination), out var last) && last.Typing == typing && (!typing || now - last.At < Repeat))
            {
                return false;
            }

            if (_last.Count >= MaxRemembered)
            {
                _last.Clear();
            }

            _last[(person, destination)] = (typing, now);
            return true;
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
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}

internal static class TypingLog
{
    public static readonly EventId NotShown = new(1961, nameof(NotShown));
}
