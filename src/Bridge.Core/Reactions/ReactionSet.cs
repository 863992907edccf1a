namespace Bridge.Core.Reactions;

/// <summary>
/// Whose reactions on which message: one person on one network, on one message of that network (its native id).
/// On a destination the person is the origin person a puppet stands for; on a source it is the network's own user.
/// </summary>
public sealed record ReactionOwner(string NetworkId, string MessageId, string PersonId);

/// <summary>
/// One person's reactions to one message, as a set (XEP-0444 sends it whole; Matrix and Mattermost add and remove one
/// key at a time). Each key maps to the native id of the reaction event that shows it on the network ("" where the
/// network gives single reactions no id, as XMPP). <see cref="At"/> is when the set was last changed by its source:
/// an older set (an archive replay) never replaces a newer one.
/// </summary>
public sealed record ReactionSet(IReadOnlyDictionary<string, string> Keys, DateTimeOffset At)
{
    public static ReactionSet Empty { get; } = new(new Dictionary<string, string>(StringComparer.Ordinal), DateTimeOffset.MinValue);

    public bool Contains(string key) => Keys.ContainsKey(key);

    /// <summary>This set with <paramref name="key"/> shown by <paramref name="nativeId"/>, changed at <paramref name="at"/> (never earlier than now).</summary>
    public ReactionSet With(string key, string nativeId, DateTimeOffset at)
    {
        var keys = new Dictionary<string, string>(Keys, StringComparer.Ordinal) { [key] = nativeId };
        return new ReactionSet(keys, Max(at));
    }

    /// <summary>This set without <paramref name="key"/>, changed at <paramref name="at"/> (never earlier than now).</summary>
    public ReactionSet Without(string key, DateTimeOffset at)
    {
        var keys = new Dictionary<string, string>(Keys, StringComparer.Ordinal);
        keys.Remove(key);
        return new ReactionSet(keys, Max(at));
    }

    private DateTimeOffset Max(DateTimeOffset at) => at > At ? at : At;
}

/// <summary>The keys a full set adds to and removes from the set known before (XEP-0444's per-person full sets).</summary>
public sealed record ReactionChanges(IReadOnlyList<string> Added, IReadOnlyList<string> Removed)
{
    public static ReactionChanges Between(ReactionSet known, IReadOnlyCollection<string> next)
    {
        ArgumentNullException.ThrowIfNull(known);
        ArgumentNullException.ThrowIfNull(next);
        var added = next.Where(k => !known.Contains(k)).Distinct(StringComparer.Ordinal).ToList();
        var nextSet = next.ToHashSet(StringComparer.Ordinal);
        var removed = known.Keys.Keys.Where(k => !nextSet.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        return new ReactionChanges(added, removed);
    }
}
