namespace Bridge.Core.Connectors;

/// <summary>The running connectors by network id. Filled once at start by the runtime.</summary>
public sealed class ConnectorRegistry
{
    private readonly Dictionary<string, INetworkConnector> _connectors = new(StringComparer.Ordinal);

    public IReadOnlyCollection<INetworkConnector> All => _connectors.Values;

    public void Add(INetworkConnector connector)
    {
        ArgumentNullException.ThrowIfNull(connector);
        _connectors.Add(connector.NetworkId, connector);
    }

    public INetworkConnector? Find(string networkId) => _connectors.GetValueOrDefault(networkId);
}
