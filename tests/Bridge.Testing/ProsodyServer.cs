namespace Bridge.Testing;

/// <summary>A private Prosody on loopback, started and stopped (by PID) through <c>scripts/prosody.sh</c>.</summary>
public sealed class ProsodyServer : ScriptedXmppServer
{
    private ProsodyServer(string domain, bool roomLocking)
        : base(domain, "prosody.sh", new Dictionary<string, string> { ["MUC_ROOM_LOCKING"] = roomLocking ? "1" : "0" }, "prosody.log")
    {
    }

    /// <summary>Starts a server for <paramref name="domain"/>; <paramref name="roomLocking"/> keeps new rooms locked until configured, as in real deployments.</summary>
    public static Task<ProsodyServer> StartAsync(string domain, bool roomLocking = true) => StartNewAsync(new ProsodyServer(domain, roomLocking));
}
