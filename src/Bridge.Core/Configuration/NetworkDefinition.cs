using Bridge.Core.Model;

namespace Bridge.Core.Configuration;

/// <summary>One configured connection. Two servers of the same kind are two networks.</summary>
public sealed record NetworkDefinition
{
    public required string Id { get; init; }
    public required NetworkKind Kind { get; init; }

    /// <summary>The organisation that people on this network belong to unless the connector knows better.</summary>
    public string Organisation { get; init; } = "";

    /// <summary>Classification label that an event from this network carries when it names none.</summary>
    public string? DefaultLabel { get; init; }

    /// <summary>Highest label this network may receive; null means cleared for the lowest label only.</summary>
    public string? Clearance { get; init; }

    /// <summary>The language people on this network write unless their endpoint or person says otherwise (<c>language:</c>).</summary>
    public string? Language { get; init; }

    /// <summary>
    /// Whether people of this network may open direct chats with puppets (and be reached in one) across networks
    /// (<c>directMessages:</c>). Off unless configured: a direct message crosses only between two networks that both allow it.
    /// </summary>
    public bool DirectMessages { get; init; }
}
