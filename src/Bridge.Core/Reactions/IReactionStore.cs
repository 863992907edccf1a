namespace Bridge.Core.Reactions;

/// <summary>
/// The reaction sets per (message, person), durable: what each person shows on each message, on each network. Both
/// stores keep it (SQLite schema step 5, PostgreSQL step 6); connectors reach it through <c>ConnectorContext.Reactions</c>.
/// </summary>
public interface IReactionStore
{
    /// <summary>The set known for <paramref name="owner"/>; <see cref="ReactionSet.Empty"/> when none.</summary>
    Task<ReactionSet> GetReactionsAsync(ReactionOwner owner, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the set of <paramref name="owner"/> unless the stored one is newer (<see cref="ReactionSet.At"/> later
    /// than <paramref name="set"/>'s): false then, and nothing changes. An empty set is kept (its time still counts).
    /// </summary>
    Task<bool> PutReactionsAsync(ReactionOwner owner, ReactionSet set, CancellationToken cancellationToken);

    /// <summary>Which owner and key the reaction event <paramref name="nativeId"/> on <paramref name="networkId"/> shows, if it is a known one.</summary>
    Task<FoundReaction?> FindReactionAsync(string networkId, string nativeId, CancellationToken cancellationToken);
}

/// <summary>A reaction event found by its native id: whose set and which key it shows.</summary>
public sealed record FoundReaction(ReactionOwner Owner, string Key);
