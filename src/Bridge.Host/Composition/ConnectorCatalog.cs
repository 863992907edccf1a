using Bridge.Core.Connectors;
using Bridge.Matrix.Connector;
using Bridge.Mattermost;
using Bridge.Xmpp;

namespace Bridge.Host.Composition;

/// <summary>The connector factories compiled into this build.</summary>
internal static class ConnectorCatalog
{
    public static IReadOnlyList<INetworkConnectorFactory> All() => [new XmppConnectorFactory(), new MatrixConnectorFactory(), new MattermostConnectorFactory()];
}
