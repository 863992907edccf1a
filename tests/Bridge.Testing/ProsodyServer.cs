namespace Bridge.Testing;

/// <summary>A private Prosody on loopback, started and stopped (by PID) through <c>scripts/prosody.sh</c>.</summary>
public sealed class ProsodyServer : ScriptedXmppServer
{
    private ProsodyServer(string domain, bool roomLocking, int? uploadPort, long uploadSizeLimit, int? roomCacheSize = null)
        : base(domain, "prosody.sh", Environment(roomLocking, uploadPort, uploadSizeLimit, roomCacheSize), "prosody.log")
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

    /// <summary>
    /// A server for many rooms (the scale bench): <paramref name="roomCacheSize"/> rooms kept live in memory
    /// (<c>muc_room_cache_size</c>, Prosody's default 100); past it every stanza to an evicted room reads it back from disk.
    /// </summary>
    public static Task<ProsodyServer> StartForRoomsAsync(string domain, int roomCacheSize) =>
        StartNewAsync(new ProsodyServer(domain, roomLocking: true, uploadPort: null, uploadSizeLimit: 10L * 1024 * 1024, roomCacheSize));

    private static Dictionary<string, string> Environment(bool roomLocking, int? uploadPort, long uploadSizeLimit, int? roomCacheSize)
    {
        var environment = new Dictionary<string, string> { ["MUC_ROOM_LOCKING"] = roomLocking ? "1" : "0" };
        if (roomCacheSize is { } rooms)
        {
            environment["MUC_ROOM_CACHE_SIZE"] = rooms.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (uploadPort is { } port)
        {
            environment["HTTP_UPLOAD_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            environment["HTTP_UPLOAD_SIZE_LIMIT"] = uploadSizeLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return environment;
    }
}
