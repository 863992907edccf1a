namespace Bridge.Core.Model;

/// <summary>
/// A person named in a message: who they are on the network they belong to (a puppet is resolved to the person it
/// stands for), and the words that name them in <see cref="BridgeEvent.Text"/> exactly as the source wrote them.
/// Each destination shows the mention as its own kind of mention of that person: of their puppet there, or of their
/// real account when the destination is their own network.
/// </summary>
public sealed record Mention
{
    public required PersonRef Person { get; init; }

    /// <summary>The text that names the person, as it appears in the message (<c>@alice</c>, a pill's label, a nick).</summary>
    public required string Written { get; init; }
}
