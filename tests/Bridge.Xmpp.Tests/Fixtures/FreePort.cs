using System.Net;
using System.Net.Sockets;

namespace Bridge.Xmpp.Tests.Fixtures;

public static class FreePort
{
    /// <summary>A port that was free a moment ago on 127.0.0.1 (the OS picks it).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
