using Bridge.Core.Model;

namespace Bridge.Core.Configuration;

/// <summary>
/// The networks and links the bridge serves, with the look-ups the router and connectors need.
/// Built once from validated configuration; immutable.
/// </summary>
public sealed class BridgeTopology
{
    private readonly Dictionary<string, NetworkDefinition> _networks;
    private readonly Dictionary<ChannelRef, List<LinkDefinition>> _linksByChannel = [];

    public BridgeTopology(IEnumerable<NetworkDefinition> networks, IEnumerable<LinkDefinition> links)
    {
        _networks = networks.ToDictionary(n => n.Id, StringComparer.Ordinal);
        Links = links.ToList();
        foreach (var link in Links)
        {
            foreach (var endpoint in link.Endpoints)
            {
                if (!_linksByChannel.TryGetValue(endpoint, out var list))
                {
                    _linksByChannel[endpoint] = list = [];
                }

                list.Add(link);
            }
        }
    }

    public IReadOnlyCollection<NetworkDefinition> Networks => _networks.Values;

    public IReadOnlyList<LinkDefinition> Links { get; }

    public NetworkDefinition GetNetwork(string id) =>
        _networks.TryGetValue(id, out var n) ? n : throw new KeyNotFoundException($"unknown network '{id}'");

    public bool TryGetNetwork(string id, out NetworkDefinition network) => _networks.TryGetValue(id, out network!);

    /// <summary>The links a channel belongs to (usually one).</summary>
    public IReadOnlyList<LinkDefinition> LinksFor(ChannelRef channel) =>
        _linksByChannel.TryGetValue(channel, out var list) ? list : [];

    /// <summary>The channels of one network that some link names: the rooms its connector must join.</summary>
    public IReadOnlyList<string> ChannelsOf(string networkId) =>
        Links.SelectMany(l => l.Endpoints).Where(e => e.NetworkId == networkId).Select(e => e.ChannelId).Distinct(StringComparer.Ordinal).ToList();
}
