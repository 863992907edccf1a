namespace Bridge.Testing;

/// <summary>
/// A private ejabberd on loopback, started and stopped (by PID) through <c>scripts/ejabberd.sh</c> (no epmd).
/// Its folder (Mnesia spool, node name) survives a stop so a restart keeps rooms and accounts.
/// </summary>
public sealed class EjabberdServer : ScriptedXmppServer
{
    private EjabberdServer(string domain, bool mucArchive, int? uploadPort)
        : base(domain, "ejabberd.sh", Environment(mucArchive, uploadPort), Path.Combine("logs", "ejabberd.log"))
    {
        UploadPort = uploadPort;
    }

    /// <summary>
    /// Starts a server for <paramref name="domain"/>; <paramref name="mucArchive"/> turns on MUC archiving (slow on Mnesia);
    /// <paramref name="httpUpload"/> adds ejabberd's <c>mod_http_upload</c> on a free loopback port.
    /// </summary>
    public static Task<EjabberdServer> StartAsync(string domain, bool mucArchive = false, bool httpUpload = false) =>
        StartNewAsync(new EjabberdServer(domain, mucArchive, httpUpload ? FreePorts.Next() : null));

    private static Dictionary<string, string> Environment(bool mucArchive, int? uploadPort)
    {
        var environment = new Dictionary<string, string> { ["MUC_MAM"] = mucArchive ? "1" : "0" };
        if (uploadPort is { } port)
        {
            environment["HTTP_UPLOAD_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return environment;
    }
}
