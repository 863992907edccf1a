namespace Bridge.Testing;

/// <summary>
/// A private ejabberd on loopback, started and stopped (by PID) through <c>scripts/ejabberd.sh</c> (no epmd).
/// Its folder (Mnesia spool, node name) survives a stop so a restart keeps rooms and accounts.
/// </summary>
public sealed class EjabberdServer : ScriptedXmppServer
{
    private EjabberdServer(string domain, bool mucArchive)
        : base(domain, "ejabberd.sh", new Dictionary<string, string> { ["MUC_MAM"] = mucArchive ? "1" : "0" }, Path.Combine("logs", "ejabberd.log"))
    {
    }

    /// <summary>Starts a server for <paramref name="domain"/>; <paramref name="mucArchive"/> turns on MUC archiving (slow on Mnesia).</summary>
    public static Task<EjabberdServer> StartAsync(string domain, bool mucArchive = false) => StartNewAsync(new EjabberdServer(domain, mucArchive));
}
