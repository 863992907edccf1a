namespace Bridge.Core.Connectors;

/// <summary>The running connectors by network id. Filled once at start by the runtime.</summary>
/// <remarks>
/// Copy-on-write: the admin API starts before the runtime (a standby serves it too) and may read while the runtime adds,
/// so readers always see a complete snapshot, in the order the connectors were added.
/// </remarks>
public sealed class ConnectorRegistry
{
    private readonly Lock _write = new();
    private volatile Snapshot _current = new([], new Dictionary<string, INetworkConnector>(StringComparer.Ordinal));

    public IReadOnlyCollection<INetworkConnector> All => _current.All;

    public void Add(INetworkConnector connector)
    {
        ArgumentNullException.ThrowIfNull(connector);
        lock (_write)
        {
            var byId = new Dictionary<string, INetworkConnector>(_current.ById, StringComparer.Ordinal);
            byId.Add(connector.NetworkId, connector);
            _current = new Snapshot([.. _current.All, connector], byId);
        }
    }

    public INetworkConnector? Find(string networkId) => _current.ById.GetValueOrDefault(networkId);

    private sealed record Snapshot(IReadOnlyList<INetworkConnector> All, Dictionary<string, INetworkConnector> ById);
}
