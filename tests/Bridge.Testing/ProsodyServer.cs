namespace Bridge.Testing;

/// <summary>A private Prosody on loopback, started and stopped (by PID) through <c>scripts/prosody.sh</c>.</summary>
public sealed class ProsodyServer : ScriptedXmppServer
{
    private ProsodyServer(string domain, bool roomLocking, int? uploadPort, long uploadSizeLimit)
        : base(domain, "prosody.sh", Environment(roomLocking, uploadPort, uploadSizeLimit), "prosody.log")
    {
        UploadPort = uploadPort;
    }

    /// <summary>
    /// Starts a server for <paramref name="domain"/>; <paramref name="roomLocking"/> keeps new rooms locked until configured,
    /// as in real deployments; <paramref name="httpUpload"/> adds Prosody's <c>mod_http_file_share</c> on a free loopback port,
    /// taking files up to <paramref name="uploadSizeLimit"/> bytes.
    /// </summary>
    public static Task<ProsodyServer> StartAsync(string domain, bool roomLocking = true, bool httpUpload = false, long uploadSizeLimit = 10L * 1024 * 1024) =>
        StartNewAsync(new ProsodyServer(domain, roomLocking, httpUpload ? FreePorts.Next() : null, uploadSizeLimit));

    private static Dictionary<string, string> Environment(bool roomLocking, int? uploadPort, long uploadSizeLimit)
    {
        var environment = new Dictionary<string, string> { ["MUC_ROOM_LOCKING"] = roomLocking ? "1" : "0" };
        if (uploadPort is { } port)
        {
            environment["HTTP_UPLOAD_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            environment["HTTP_UPLOAD_SIZE_LIMIT"] = uploadSizeLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return environment;
    }
}
