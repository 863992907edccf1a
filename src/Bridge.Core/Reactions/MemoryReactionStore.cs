namespace Bridge.Core.Reactions;

/// <summary>
/// Reaction sets in memory, with the stores' semantics (an older set never replaces a newer one). For tests and tools
/// that run without a database; the daemon always uses its SQLite or PostgreSQL store.
/// </summary>
public sealed class MemoryReactionStore : IReactionStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ReactionOwner, ReactionSet> _sets = [];

    public Task<ReactionSet> GetReactionsAsync(ReactionOwner owner, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_sets.GetValueOrDefault(owner) ?? ReactionSet.Empty);
        }
    }

    public Task<bool> PutReactionsAsync(ReactionOwner owner, ReactionSet set, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(set);
        lock (_gate)
        {
            if (_sets.TryGetValue(owner, out var known) && known.At > set.At)
            {
                return Task.FromResult(false);
            }

            _sets[owner] = set with { Keys = new Dictionary<string, string>(set.Keys, StringComparer.Ordinal) };
            return Task.FromResult(true);
        }
    }

    public Task<FoundReaction?> FindReactionAsync(string networkId, string nativeId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var (owner, set) in _sets)
            {
                if (owner.NetworkId != networkId)
                {
                    continue;
                }

                foreach (var (key, id) in set.Keys)
                {
                    if (id.Length > 0 && id == nativeId)
                    {
                        return Task.FromResult<FoundReaction?>(new FoundReaction(owner, key));
                    }
                }
            }

            return Task.FromResult<FoundReaction?>(null);
        }
    }
}
