using System.Net;
using System.Net.Sockets;

namespace Bridge.Testing;

/// <summary>Loopback ports the tests choose: ask the kernel for a free one.</summary>
public static class FreePorts
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
