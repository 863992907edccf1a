namespace Bridge.Storm.Sides;

/// <summary>
/// One person on one network, acting through the network's own client interface and reading the room the way that
/// person sees it (the server's history or the client's stream), never through the bridge's bookkeeping.
/// </summary>
internal abstract class Side : IAsyncDisposable
{
    /// <summary>The bridge's network id of this side (<c>xmpp</c>, <c>matrix</c>, <c>mm</c>).</summary>
    public abstract string Network { get; }

    /// <summary>Sends a text message; returns what <see cref="EditAsync"/> needs to correct it.</summary>
    public abstract Task<string> SayAsync(string text, CancellationToken cancellationToken);

    /// <summary>Replaces the text of one of this person's own messages.</summary>
    public abstract Task EditAsync(string handle, string text, CancellationToken cancellationToken);

    /// <summary>Reacts to a message this person sees, named by <see cref="VisibleItem.ReactionId"/>.</summary>
    public abstract Task ReactAsync(string targetId, CancellationToken cancellationToken);

    /// <summary>Shares a small text file called <paramref name="name"/> the way this network's clients share files.</summary>
    public abstract Task ShareFileAsync(string name, CancellationToken cancellationToken);

    /// <summary>Everything in the room as this person sees it now, oldest first.</summary>
    public abstract Task<RoomView> ViewAsync(CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}

/// <summary>One message, edit or file in a room as a person sees it.</summary>
/// <param name="ReactionId">The id a client of this network names the message by when reacting to it.</param>
/// <param name="Ids">Every id the message is known by here (reactions arriving may name any of them).</param>
/// <param name="Local">Written by this side's own person (not by the bridge).</param>
/// <param name="IsCorrection">A correction event (XMPP XEP-0308, Matrix m.replace), not a new message.</param>
/// <param name="EditedInPlace">A post whose text was replaced in place (Mattermost): its text is the edit's.</param>
/// <param name="FileNames">Names of the files it carries as media (not links).</param>
internal sealed record VisibleItem(string ReactionId, IReadOnlyList<string> Ids, string Text, bool Local, bool IsCorrection, bool EditedInPlace,
    IReadOnlyList<string> FileNames);

/// <summary>One reaction as a person sees it: on which message (any of its ids), and whether it is their own.</summary>
internal sealed record VisibleReaction(string TargetId, bool Local);

internal sealed record RoomView(IReadOnlyList<VisibleItem> Items, IReadOnlyList<VisibleReaction> Reactions);
