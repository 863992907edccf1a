using Bridge.Core.Model;

namespace Bridge.Core.Direct;

/// <summary>
/// A connector that can carry direct chats (<see cref="DirectMessages"/>). Implemented next to the connector
/// (<c>*Connector.Direct.cs</c>); the core asks it only for networks whose <c>directMessages</c> is on.
/// </summary>
public interface IDirectMessageConnector
{
    /// <summary>
    /// Opens (or finds again) the chat on this network between <paramref name="local"/>, a real person of this network,
    /// and the puppet of <paramref name="remote"/>, and returns its channel id. Throws when the network refuses or
    /// cannot be reached; nothing is then put in force.
    /// </summary>
    Task<string> OpenDirectAsync(PersonRef local, PersonRef remote, CancellationToken cancellationToken);

    /// <summary>A portal with a side on this network is in force (opened now, or loaded at start): receive from and deliver to its channel.</summary>
    Task DirectPortalInForceAsync(DirectPortal portal, CancellationToken cancellationToken);
}
