namespace Bridge.Core.Storage;

/// <summary>Durable key/value state for connectors, scoped (e.g. by network id) so connectors never collide.</summary>
public interface IConnectorStateStore
{
    Task<string?> GetAsync(string scope, string key, CancellationToken cancellationToken);

    Task SetAsync(string scope, string key, string value, CancellationToken cancellationToken);

    Task DeleteAsync(string scope, string key, CancellationToken cancellationToken);

    /// <summary>Sets the key only if absent; true if this call set it. Used for "seen" marks (transaction ids).</summary>
    Task<bool> TryAddAsync(string scope, string key, string value, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<string, string>> ListAsync(string scope, CancellationToken cancellationToken);
}
