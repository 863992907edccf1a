using Bridge.Core.Connectors.Capabilities;
using Bridge.Core.Model;

namespace Bridge.Core.Connectors;

/// <summary>
/// The edge toward one configured network. The only place that knows a wire format.
/// A connector never decides policy and never routes: it reports what happened through
/// <see cref="IEventSink"/> and delivers what the core asks it to.
/// </summary>
/// <remarks>
/// Channels are always named as the link configuration names them (<see cref="ChannelRef.ChannelId"/>):
/// a connector that resolves aliases or names to native ids maps them back before reporting.
/// </remarks>
public interface INetworkConnector : IAsyncDisposable
{
    string NetworkId { get; }

    NetworkKind Kind { get; }

    /// <summary>True while the connector can deliver (connected, rooms joined). Delivery waits while false.</summary>
    bool IsReady { get; }

    /// <summary>
    /// Why the connector, although it may be ready, cannot do all the configuration asks (for example puppets refused
    /// because the server cannot make them guests); null when nothing is wrong. Reported on <c>/healthz</c>.
    /// </summary>
    string? DegradedReason => null;

    /// <summary>
    /// Why <paramref name="channelId"/> cannot be a channel of this network (not a room JID, not a room id or alias…), or
    /// null when it can. Asked before a link made at run time names it, so a bad channel is refused up front.
    /// </summary>
    string? CheckChannel(string channelId) => null;

    /// <summary>Whether <see cref="ChannelsChangedAsync"/> joins new rooms live; a link change that adds a room on a network that cannot is refused.</summary>
    bool JoinsChannelsLive => false;

    /// <summary>
    /// Asked before a link change that adds <paramref name="channelId"/> is committed, on a network where the bridge
    /// account must be in a channel to receive from it and post to it (Mattermost): join now. Returns why the server
    /// refused (the change is then refused with nothing applied), or null once joined or when nothing is needed. Throws
    /// when the network cannot be asked now (not connected, server error): the change is refused too, as unavailable.
    /// A change that fails after this is undone through <see cref="ChannelsChangedAsync"/> with the channel as removed.
    /// </summary>
    Task<string?> JoinBeforeLinkingAsync(string channelId, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    /// <summary>
    /// The links changed at run time (admin API): join <paramref name="added"/> (the bot, and puppets as they speak) and
    /// leave <paramref name="removed"/> (the bot and every puppet), without reconnecting. The topology already shows the
    /// change when this is called. Must not throw for a room that cannot be joined now: log it and keep trying as at start.
    /// </summary>
    Task ChannelsChangedAsync(IReadOnlyCollection<string> added, IReadOnlyCollection<string> removed, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>What the network can show; the core degrades what it cannot (<see cref="DeliveryDegradation"/>).</summary>
    NetworkCapabilities Capabilities => new();

    /// <summary>Whether the network can show <paramref name="key"/> as a reaction; a key it cannot is shown as a short text line.</summary>
    bool CanShowReaction(string key) => key.Length > 0;

    /// <summary>The puppets this connector keeps for people of other networks (for the admin API); empty when it has none.</summary>
    IReadOnlyList<PuppetInfo> Puppets => [];

    /// <summary>Connects and starts receiving in the background. Returns once started; must not wait for the network to be up.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Leaves rooms cleanly (unavailable presence for puppets, etc.) and disconnects.</summary>
    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>Delivers one event into one channel as the sender's puppet. Must be idempotent for the same <see cref="DeliveryRequest.OutboxId"/> where the protocol allows.</summary>
    Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken);

    /// <summary>Tells one person privately (or as a notice in the channel) that something they sent was not delivered as sent.</summary>
    Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken);
}

/// <summary>One puppet: its id on this network, the name it shows, the linked channels it is in now, and whom it stands for when known.</summary>
public sealed record PuppetInfo(string LocalId, string? DisplayName, IReadOnlyList<string> Channels, string? ForPerson = null);
