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

    /// <summary>Connects and starts receiving in the background. Returns once started; must not wait for the network to be up.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Leaves rooms cleanly (unavailable presence for puppets, etc.) and disconnects.</summary>
    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>Delivers one event into one channel as the sender's puppet. Must be idempotent for the same <see cref="DeliveryRequest.OutboxId"/> where the protocol allows.</summary>
    Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken);

    /// <summary>Tells one person privately (or as a notice in the channel) that something they sent was not delivered as sent.</summary>
    Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken);
}
