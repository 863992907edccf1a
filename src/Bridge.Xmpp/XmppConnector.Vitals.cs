using Bridge.Core.Connectors;
using Bridge.Xmpp.Muc;

namespace Bridge.Xmpp;

internal sealed partial class XmppConnector
{
    /// <summary>Rooms joined counts the bot's occupancies: the bot is the one occupant that reads each room.</summary>
    public ConnectorVitals Vitals
    {
        get
        {
            lock (_gate)
            {
                var joined = _occupancies.Values.Count(o => o.IsBot && o.State == OccupancyState.Joined);
                return _history.Vitals(joined, _roomsByJid.Count);
            }
        }
    }
}
