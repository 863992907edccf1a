using System.Net;
using System.Net.Sockets;

namespace Bridge.Testing;

/// <summary>
/// Loopback ports the tests choose. Taken below the kernel's ephemeral range (32768-60999 on Linux): a port the kernel
/// hands out for "port 0" can be reused at once for another process's outgoing connection or listener, which made a
/// test server fail with "address already in use" between choosing its port and binding it.
/// </summary>
public static class FreePorts
{
    private const int First = 20000;
    private const int Last = 32000;
    private static readonly Lock Gate = new();
    private static readonly HashSet<int> Given = [];

    public static int Next()
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var port = Random.Shared.Next(First, Last);
            lock (Gate)
            {
                if (Given.Contains(port) || !CanBind(port))
                {
                    continue;
                }

                Given.Add(port);
                return port;
            }
        }

        throw new InvalidOperationException($"no free loopback port between {First} and {Last}");
    }

    private static bool CanBind(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Server.ExclusiveAddressUse = true;
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
