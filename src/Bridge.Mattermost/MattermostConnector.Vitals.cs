using Bridge.Core.Connectors;

namespace Bridge.Mattermost;

public sealed partial class MattermostConnector
{
    /// <summary>
    /// Rooms joined counts the linked channels that passed the start-up checks (the bridge account is made a member of
    /// each before listening); none until then.
    /// </summary>
    public ConnectorVitals Vitals => _history.Vitals(_facts is null ? 0 : _byConfigured.Count, _context.Topology.ChannelsOf(_network.Id).Count);
}
