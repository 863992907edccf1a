using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Bridge.Host.Composition;

/// <summary>
/// sd_notify(3) for the states the host's own systemd lifetime does not send: a standby is ready (systemd must not
/// kill it at the start timeout) although the host's start is still waiting for the lease.
/// </summary>
internal sealed class SystemdNotify(ILogger<SystemdNotify> logger)
{
    private static readonly EventId NotifyFailed = new(953, nameof(NotifyFailed));
    private readonly string? _socket = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");

    public void Send(string state)
    {
        if (string.IsNullOrEmpty(_socket))
        {
            return;
        }

        try
        {
            // A leading '@' names a socket in the abstract namespace.
            var path = _socket[0] == '@' ? "\0" + _socket[1..] : _socket;
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send(Encoding.UTF8.GetBytes(state));
        }
        catch (SocketException ex)
        {
            logger.LogWarning(NotifyFailed, "Could not notify systemd ({State}): {Reason}", state.Replace('\n', ' '), ex.Message);
        }
    }
}
