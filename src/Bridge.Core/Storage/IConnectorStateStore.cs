namespace Bridge.Core.Storage;

/// <summary>Durable key/value state for connectors, scoped (e.g. by network id) so connectors never collide.</summary>
public interface IConnectorStateStore
{
    Task<string?> GetAsync(string scope, string key, CancellationToken cancellationToken);

    Task SetAsync(string scope, string key, string value, CancellationToken cancellationToken);

    Task DeleteAsync(string scope, string key, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes several keys. A store may delete them in one transaction, one commit instead of one per key (the XMPP
    /// connector's expired send marks, one per message sent); the default simply calls <see cref="DeleteAsync"/> for each.
    /// </summary>
    async Task DeleteManyAsync(string scope, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            await DeleteAsync(scope, key, cancellationToken);
        }
    }

    /// <summary>Sets the key only if absent; true if this call set it. Used for "seen" marks (transaction ids).</summary>
    Task<bool> TryAddAsync(string scope, string key, string value, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<string, string>> ListAsync(string scope, CancellationToken cancellationToken);

    /// <summary>
    /// Sets per-message state (an id map entry, a seen transaction id): like <see cref="SetManyAsync"/>, but the store's
    /// retention deletes it once older than <c>retention:messageMap</c>. A store without retention simply keeps it.
    /// </summary>
    Task SetPerMessageAsync(string scope, IReadOnlyList<KeyValuePair<string, string>> entries, CancellationToken cancellationToken) =>
        SetManyAsync(scope, entries, cancellationToken);

    /// <summary>
    /// Sets several keys (upsert, like <see cref="SetAsync"/>). A store may write them in one transaction, which is
    /// much cheaper than one commit per key; the default simply calls <see cref="SetAsync"/> for each.
    /// </summary>
    async Task SetManyAsync(string scope, IReadOnlyList<KeyValuePair<string, string>> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var (key, value) in entries)
        {
            await SetAsync(scope, key, value, cancellationToken);
        }
    }
}
