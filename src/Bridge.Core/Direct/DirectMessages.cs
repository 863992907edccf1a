using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Direct;

/// <summary>What became of a request to open a direct chat.</summary>
public sealed record DirectOpening(DirectPortal? Portal, string? Refusal, string RuleId)
{
    public bool Opened => Portal is not null;
}

/// <summary>
/// Direct chats across networks. A connector that sees a person start a chat with a puppet (a Matrix invite marked
/// direct, a Mattermost DM with a puppet, an XMPP chat message to a puppet JID) asks <see cref="OpenAsync"/>; the core
/// checks that both networks allow direct messages and that the sharing policy lets each of the two people reach the
/// other (barriers, source allow/deny lists, clearances: the same decision a first message would get, both ways), asks
/// the other network's connector to open the chat there, keeps the portal and puts it in force as a link of kind
/// <see cref="LinkSource.Direct"/>. Every opening and refusal is an audit record (kind <c>direct</c>).
/// </summary>
public sealed class DirectMessages(
    BridgeTopology topology,
    DirectPortalRegistry registry,
    ConnectorRegistry connectors,
    ISharingPolicy policy,
    IBridgeStore store,
    DeliverySignals signals,
    ILogger<DirectMessages> logger,
    TimeProvider? time = null)
{
    public const string AuditKind = "direct";
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly DirectOpeningGuard _guard = new(time ?? TimeProvider.System);
    private readonly Lock _inForceGate = new();

    /// <summary>How long the other network may take to open its side; past it the opening fails (never stalls a connector).</summary>
    public TimeSpan OpenTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Openings (and refusals) one person may cause per minute; past it they are refused, logged once, counted, not audited.</summary>
    public int OpeningsPerMinute { init => _guard.PerMinute = value; }

    /// <summary>Openings refused for the rate limit or because too many were under way, since start.</summary>
    public long Throttled => _guard.Throttled;

    /// <summary>Puts the stored portals in force (at start, before the connectors start).</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        await registry.LoadAsync(cancellationToken);
        foreach (var clash in registry.All.Where(p => p.Parties.Any(party => IsLinked(party.Channel))))
        {
            // A link made (or written in the configuration) on a channel of this chat: the link wins, and the chat is not
            // carried as a portal as well, or each would fan out into the other.
            logger.LogError(DirectLog.Refused, "Direct portal {Portal} kept out of force: a link joins one of its channels ({First}, {Second})",
                clash.Id, clash.First.Channel, clash.Second.Channel);
        }

        var usable = registry.All.Where(p => IsEnabled(p.First.NetworkId) && IsEnabled(p.Second.NetworkId) && !p.Parties.Any(party => IsLinked(party.Channel))).ToList();
        topology.ReplaceDirectLinks(usable.Select(p => p.ToLink()));
        if (registry.All.Count > 0)
        {
            logger.LogInformation(DirectLog.Loaded, "{Count} direct portal(s) in force ({Off} kept but off: a network has directMessages off)",
                usable.Count, registry.All.Count - usable.Count);
        }
    }

    /// <summary>Whether network <paramref name="networkId"/> has <c>directMessages</c> on.</summary>
    public bool IsEnabled(string networkId) => topology.TryGetNetwork(networkId, out var network) && network.DirectMessages;

    /// <summary>The portal in force whose channel this is, or null.</summary>
    public DirectPortal? Find(ChannelRef channel) =>
        registry.FindByChannel(channel) is { } portal && topology.FindLink(portal.Id) is { Source: LinkSource.Direct } ? portal : null;

    /// <summary>The portals in force with a side on <paramref name="networkId"/>.</summary>
    public IReadOnlyList<DirectPortal> PortalsOn(string networkId) =>
        [.. registry.All.Where(p => p.On(networkId) is not null && topology.FindLink(p.Id) is { Source: LinkSource.Direct })];

    /// <summary>
    /// <paramref name="from"/>, a real person of their network, started a chat in <paramref name="fromChannel"/> with
    /// the puppet of <paramref name="to"/>: open the portal (or find it again), or say why not.
    /// </summary>
    public async Task<DirectOpening> OpenAsync(PersonRef from, string fromChannel, PersonRef to, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var id = DirectPortal.IdFor(from.Key, to.Key);
        var fromChannelRef = new ChannelRef(from.NetworkId, fromChannel);
        if (registry.Find(id) is { } inForce && inForce.At(fromChannelRef) is { } && topology.FindLink(id) is { Source: LinkSource.Direct })
        {
            return new DirectOpening(inForce, null, "direct");
        }

        if (_guard.Admit(from.Key) is { } throttled)
        {
            if (throttled.LogIt)
            {
                logger.LogWarning(DirectLog.Throttled, "Direct chats started by {From} refused for a while: {Reason} (further refusals counted, not logged or audited)",
                    from.Key, throttled.Reason);
            }

            return new DirectOpening(null, throttled.Reason, "direct-rate");
        }

        using var pair = await _guard.EnterPairAsync(id, cancellationToken);
        if (pair is null)
        {
            return new DirectOpening(null, "too many direct chats are being opened now", "direct-rate");
        }

        {
            var existing = registry.Find(id);
            if (Refusal(from, fromChannel, to, id, existing) is { } refused)
            {
                logger.LogWarning(DirectLog.Refused, "Direct chat of {From} with {To} refused ({Rule}): {Reason}", from.Key, to.Key, refused.RuleId, refused.Refusal);
                await AuditAsync(id, from, to, "direct-refused", refused.RuleId, refused.Refusal!, cancellationToken);
                return refused;
            }

            var fromParty = new DirectParty { NetworkId = from.NetworkId, UserId = from.UserId, ChannelId = fromChannel, DisplayName = from.DisplayName };
            if (existing?.At(fromParty.Channel) is { } && topology.FindLink(id) is { Source: LinkSource.Direct })
            {
                return new DirectOpening(existing, null, "direct");
            }

            string toChannel;
            if (existing?.On(to.NetworkId) is { UserId: var known } toKnown && known == to.UserId)
            {
                toChannel = toKnown.ChannelId;
            }
            else
            {
                try
                {
                    var connector = connectors.Find(to.NetworkId) as IDirectMessageConnector
                        ?? throw new InvalidOperationException($"network {to.NetworkId} cannot carry direct messages");
                    using var timeout = new CancellationTokenSource(OpenTimeout, _time);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
                    try
                    {
                        // No picture rides on the opening: the puppet's picture follows with its first message, through the
                        // policy (which keeps pictures from destinations with file rules).
                        toChannel = await connector.OpenDirectAsync(to, @from with { Avatar = null, AvatarRemoved = false, AvatarUrl = null }, linked.Token);
                    }
                    catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                    {
                        throw new TimeoutException($"no answer within {OpenTimeout.TotalSeconds:0.#} s");
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    logger.LogWarning(DirectLog.Failed, ex, "Direct chat of {From} with {To} not opened: {Network} could not open its side", from.Key, to.Key, to.NetworkId);
                    await AuditAsync(id, from, to, "direct-failed", "unavailable", $"{to.NetworkId} could not open its side: {ex.Message}", cancellationToken);
                    return new DirectOpening(null, $"{to.NetworkId} could not open the chat now", "unavailable");
                }
            }

            if (IsLinked(new ChannelRef(to.NetworkId, toChannel)))
            {
                logger.LogWarning(DirectLog.Refused, "Direct chat of {From} with {To} refused: {Network} opened it in {Channel}, a linked channel", from.Key, to.Key, to.NetworkId, toChannel);
                await AuditAsync(id, from, to, "direct-refused", "direct-linked", $"{to.NetworkId} answered with a linked channel", cancellationToken);
                return new DirectOpening(null, "the other side is a linked channel", "direct-linked");
            }

            var portal = new DirectPortal
            {
                Id = id,
                First = fromParty,
                Second = new DirectParty { NetworkId = to.NetworkId, UserId = to.UserId, ChannelId = toChannel, DisplayName = to.DisplayName },
                CreatedAt = existing?.CreatedAt ?? _time.GetUtcNow(),
            };
            await registry.SaveAsync(portal, cancellationToken);
            lock (_inForceGate)
            {
                // Two openings of different pairs at once: each builds the set from the registry and the later one wins,
                // so both must see each other's portal (the registry is saved first, the set built under this lock).
                topology.ReplaceDirectLinks(registry.All.Where(p => IsEnabled(p.First.NetworkId) && IsEnabled(p.Second.NetworkId) && !p.Parties.Any(party => IsLinked(party.Channel)))
                    .Select(p => p.ToLink()));
            }
            await AuditAsync(id, from, to, existing is null ? "direct-opened" : "direct-moved", "direct",
                $"{portal.First.Channel.NetworkId}:{portal.First.ChannelId} <-> {portal.Second.NetworkId}:{portal.Second.ChannelId}", cancellationToken);
            logger.LogInformation(DirectLog.Opened, "Direct portal {Portal} in force: {From} in {FromChannel} with {To} in {ToChannel}",
                id, from.Key, fromChannel, to.Key, toChannel);
            foreach (var party in portal.Parties)
            {
                if (connectors.Find(party.NetworkId) is IDirectMessageConnector side)
                {
                    await side.DirectPortalInForceAsync(portal, cancellationToken);
                }

                signals.Signal(party.NetworkId);
            }

            return new DirectOpening(portal, null, "direct");
        }
    }

    /// <summary>Why the two people may not chat: a network with direct messages off, or the policy blocking either way.</summary>
    private DirectOpening? Refusal(PersonRef from, string fromChannel, PersonRef to, string id, DirectPortal? existing)
    {
        if (!topology.TryGetNetwork(from.NetworkId, out var fromNetwork) || !topology.TryGetNetwork(to.NetworkId, out var toNetwork))
        {
            return new DirectOpening(null, "unknown network", "direct-off");
        }

        if (from.NetworkId == to.NetworkId)
        {
            return new DirectOpening(null, "both people are on the same network", "direct-off");
        }

        foreach (var network in new[] { fromNetwork, toNetwork })
        {
            if (!network.DirectMessages)
            {
                return new DirectOpening(null, $"direct messages are off on network {network.Id}", "direct-off");
            }
        }

        if (IsLinked(new ChannelRef(from.NetworkId, fromChannel)))
        {
            // A linked room is a group conversation: a chat in it is not two people's, and a portal there would fan
            // the group out to one person (and that person's chat into the group).
            return new DirectOpening(null, "the chat is in a linked channel", "direct-linked");
        }

        var fromRef = new ChannelRef(from.NetworkId, fromChannel);
        var toRef = new ChannelRef(to.NetworkId, existing?.On(to.NetworkId)?.ChannelId ?? "");
        var link = new LinkDefinition { Id = id, Endpoints = [fromRef, toRef], Source = LinkSource.Direct };
        foreach (var (sender, source, sourceChannel, destination, destinationRef) in new[]
                 {
                     (from, fromNetwork, fromRef, toNetwork, toRef),
                     (to, toNetwork, toRef, fromNetwork, fromRef),
                 })
        {
            var probe = new BridgeEvent
            {
                NetworkId = source.Id,
                ChannelId = sourceChannel.ChannelId,
                NativeId = "direct-open/" + id,
                Kind = BridgeEventKind.Message,
                Sender = sender,
                Text = "",
                Timestamp = _time.GetUtcNow(),
            };
            PolicyDecision decision;
            try
            {
                decision = DirectLinkPolicy.Decide(policy, topology, new PolicyContext(probe, link, source, destinationRef, destination));
            }
            catch (Exception ex)
            {
                // Fail closed, as the router does.
                return new DirectOpening(null, "the policy could not decide: " + ex.Message, "policy-error");
            }

            if (decision.Verdict == PolicyVerdict.Block)
            {
                return new DirectOpening(null, $"{sender.Key} may not reach {destination.Id}: {decision.Reason}", decision.RuleId);
            }
        }

        return null;
    }

    private Task AuditAsync(string id, PersonRef from, PersonRef to, string decision, string rule, string details, CancellationToken cancellationToken) =>
        store.AppendAuditAsync([new AuditDraft
        {
            At = _time.GetUtcNow(),
            Kind = AuditKind,
            LinkId = id,
            EventKey = $"{from.Key} -> {to.Key}",
            SourceNetwork = from.NetworkId,
            SourcePerson = from.UserId,
            Destination = to.NetworkId,
            Decision = decision,
            RuleId = rule,
            Content = details,
        }], cancellationToken);

    /// <summary>A channel some link (a file or admin-API link, not a portal) joins.</summary>
    private bool IsLinked(ChannelRef channel) => topology.LinksFor(channel).Any(l => l.Source != LinkSource.Direct);
}
