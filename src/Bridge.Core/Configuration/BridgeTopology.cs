using Bridge.Core.Model;

namespace Bridge.Core.Configuration;

/// <summary>
/// The networks and links the bridge serves, with the look-ups the router and connectors need. Networks are fixed at
/// start; the set of links can be replaced at run time (links made through the admin API) as one immutable snapshot, so
/// a reader always sees either the links before a change or after it, never half of one.
/// </summary>
public sealed class BridgeTopology
{
    private readonly Dictionary<string, NetworkDefinition> _networks;
    private volatile LinkSet _links;

    public BridgeTopology(IEnumerable<NetworkDefinition> networks, IEnumerable<LinkDefinition> links)
    {
        _networks = networks.ToDictionary(n => n.Id, StringComparer.Ordinal);
        _links = new LinkSet([.. links]);
    }

    public IReadOnlyCollection<NetworkDefinition> Networks => _networks.Values;

    /// <summary>The links in force now (configuration order: the file's first, then those made at run time).</summary>
    public IReadOnlyList<LinkDefinition> Links => _links.All;

    public NetworkDefinition GetNetwork(string id) =>
        _networks.TryGetValue(id, out var n) ? n : throw new KeyNotFoundException($"unknown network '{id}'");

    public bool TryGetNetwork(string id, out NetworkDefinition network) => _networks.TryGetValue(id, out network!);

    /// <summary>The links a channel belongs to (usually one).</summary>
    public IReadOnlyList<LinkDefinition> LinksFor(ChannelRef channel) => _links.ByChannel.TryGetValue(channel, out var list) ? list : [];

    public LinkDefinition? FindLink(string id) => _links.ById.GetValueOrDefault(id);

    /// <summary>
    /// The channels of one network that some link names: the rooms its connector must join. Direct-message portals are
    /// not among them (their channels belong to two people, not to the bridge account).
    /// </summary>
    public IReadOnlyList<string> ChannelsOf(string networkId) =>
        _links.All.Where(l => l.Source != LinkSource.Direct).SelectMany(l => l.Endpoints).Where(e => e.NetworkId == networkId).Select(e => e.ChannelId).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// The channels of one network whose deliveries wait because their link is paused: their outbox rows stay pending,
    /// in order, until the link is resumed.
    /// </summary>
    public IReadOnlyCollection<string> HeldChannelsOf(string networkId) =>
        _links.Held.TryGetValue(networkId, out var held) ? held : [];

    /// <summary>True while <paramref name="destination"/> is an endpoint of link <paramref name="linkId"/> (a row toward a removed endpoint is not).</summary>
    public bool HasEndpoint(string linkId, ChannelRef destination) =>
        _links.ById.TryGetValue(linkId, out var link) && link.Endpoints.Contains(destination);

    /// <summary>Puts a new set of links in force at once (the admin API's changes).</summary>
    public void ReplaceLinks(IEnumerable<LinkDefinition> links)
    {
        ArgumentNullException.ThrowIfNull(links);
        lock (_replace)
        {
            _links = new LinkSet([.. links.Where(l => l.Source != LinkSource.Direct), .. _links.All.Where(l => l.Source == LinkSource.Direct)]);
        }
    }

    /// <summary>Puts a new set of direct-message portals in force at once; the other links stay as they are.</summary>
    public void ReplaceDirectLinks(IEnumerable<LinkDefinition> direct)
    {
        ArgumentNullException.ThrowIfNull(direct);
        lock (_replace)
        {
            _links = new LinkSet([.. _links.All.Where(l => l.Source != LinkSource.Direct), .. direct.Where(l => l.Source == LinkSource.Direct)]);
        }
    }

    private readonly Lock _replace = new();

    private sealed class LinkSet
    {
        public LinkSet(IReadOnlyList<LinkDefinition> all)
        {
            All = all;
            foreach (var link in all)
            {
                ById.TryAdd(link.Id, link);
                foreach (var endpoint in link.Endpoints)
                {
                    if (!ByChannel.TryGetValue(endpoint, out var list))
                    {
                        ByChannel[endpoint] = list = [];
                    }

                    list.Add(link);
                    if (link.Paused)
                    {
                        if (!Held.TryGetValue(endpoint.NetworkId, out var held))
                        {
                            Held[endpoint.NetworkId] = held = new HashSet<string>(StringComparer.Ordinal);
                        }

                        held.Add(endpoint.ChannelId);
                    }
                }
            }
        }

        public IReadOnlyList<LinkDefinition> All { get; }

        public Dictionary<string, LinkDefinition> ById { get; } = new(StringComparer.Ordinal);

        public Dictionary<ChannelRef, List<LinkDefinition>> ByChannel { get; } = [];

        public Dictionary<string, HashSet<string>> Held { get; } = new(StringComparer.Ordinal);
    }
}
