namespace Bridge.Core.Model;

/// <summary>
/// A person as seen on the network they speak from. <see cref="UserId"/> is the stable native identity
/// (a real JID or occupant id, a Matrix user id, a Mattermost user id); the display name may change.
/// </summary>
public sealed record PersonRef
{
    public required string NetworkId { get; init; }
    public required string UserId { get; init; }
    public required string DisplayName { get; init; }

    /// <summary>The organisation the person belongs to; defaults to the source network's organisation.</summary>
    public string? Organisation { get; init; }

    public string? AvatarUrl { get; init; }

    /// <summary>The person's picture on their own network (read through its connector), or null when they have none.</summary>
    public Profiles.AvatarRef? Avatar { get; init; }

    /// <summary>
    /// The person's own network says they have no picture now (they removed it), so their puppets lose theirs. False
    /// when it says nothing either way (not known yet, a failed look-up): a puppet's picture is kept then.
    /// </summary>
    public bool AvatarRemoved { get; init; }

    /// <summary>
    /// The person's own short handle as everyone in the source room sees it (Mattermost username, Matrix localpart,
    /// XMPP nick), used as the readable part of puppet names; null when the network has none. Never a real JID that the
    /// room does not show.
    /// </summary>
    public string? Handle { get; init; }

    /// <summary>A key that is unique across networks, used to name and find puppets.</summary>
    public string Key => $"{NetworkId}/{UserId}";
}
