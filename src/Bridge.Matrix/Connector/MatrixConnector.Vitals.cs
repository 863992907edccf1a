using Bridge.Core.Connectors;

namespace Bridge.Matrix.Connector;

public sealed partial class MatrixConnector
{
    /// <summary>Rooms joined counts the bridge bot's rooms: the bot is in every linked room it reads.</summary>
    public ConnectorVitals Vitals => _history.Vitals(_joined.Keys.Count(k => k.UserId == BotUserId), _rooms.Channels.Count);
}
