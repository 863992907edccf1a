using Bridge.Core.Connectors;
using Bridge.Xmpp.Protocol;

namespace Bridge.Xmpp;

/// <summary>One XMPP network: an XEP-0114 component on one server. Bound from <c>networks:&lt;id&gt;:xmpp</c>.</summary>
public sealed class XmppOptions
{
    /// <summary>The server's component listener host (e.g. 127.0.0.1).</summary>
    public string Host { get; set; } = "";

    /// <summary>The server's component port (Prosody and ejabberd default to 5347 / 5275 respectively).</summary>
    public int Port { get; set; } = 5347;

    /// <summary>The component's domain, e.g. <c>bridge.example.org</c>; every puppet lives under it.</summary>
    public string ComponentDomain { get; set; } = "";

    /// <summary>The shared component secret.</summary>
    public string Secret { get; set; } = "";

    /// <summary>The MUC service used for link channels given without a domain (<c>ops</c> → <c>ops@conference.example.org</c>).</summary>
    public string? MucService { get; set; }

    /// <summary>The nick of the bridge's own occupant, through which each room is read.</summary>
    public string BotNick { get; set; } = "bridge";

    /// <summary>Largest stanza accepted or sent, in bytes.</summary>
    public int MaxStanzaBytes { get; set; } = 256 * 1024;

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan ReconnectInitialDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a MUC join (and its room configuration) may take before we give up for now.</summary>
    public TimeSpan JoinTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a sent message may take to come back from the room before the attempt counts as failed.</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Most messages of one sender on their way into one room at once, sent before the first comes back (the room keeps
    /// one stream's order). 1 sends one at a time, waiting for each reflection; choose it where the MUC service refuses
    /// messages for rate (Prosody's mod_muc_limits, ejabberd's min_message_interval), which could take a later message
    /// of a run and refuse an earlier one.
    /// </summary>
    public int SendWindow { get; set; } = 16;

    /// <summary>
    /// How often the bot pings itself in each room (XEP-0410 self-ping): a connection that died silently is replaced,
    /// and a bot dropped from a room (server restart, kick) re-joins.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Most room set-up requests (a room join with its unlock, a catch-up archive query) waiting on the server at once
    /// after connecting or linking rooms. Higher joins many rooms faster on a fast server; every request beyond what the
    /// server answers within <see cref="JoinTimeout"/> times out instead (1,000 new rooms at once did on Prosody).
    /// </summary>
    public int JoinConcurrency { get; set; } = 8;

    /// <summary>Most archived messages fetched per room when catching up after an outage (XEP-0313).</summary>
    public int MaxCatchUpMessages { get; set; } = 10_000;

    /// <summary>Entries per room in the in-memory id maps and seen-set (not configurable: tests make it small to force evictions).</summary>
    internal int RoomIdCacheSize { get; set; } = Muc.RoomState.DefaultIdCacheSize;

    /// <summary>Our sent message ids → their native ids held in memory, across all rooms (tests make it small).</summary>
    internal int SentIdCacheSize { get; set; } = 4_096;

    /// <summary>How long a send mark is kept once its send is made (no configuration key: tests shorten it to see the purge).</summary>
    internal TimeSpan SendMarkLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The XEP-0363 HTTP upload service files from other networks are uploaded to (e.g. <c>upload.example.org</c>);
    /// unset: discovered through disco#items on the server's domain (the component domain's parent).
    /// </summary>
    public string? UploadService { get; set; }

    /// <summary>
    /// Hosts (<c>host</c> or <c>host:port</c>) of this network's upload service: a file shared as a URL on one of them is
    /// fetched and copied to the other networks; a URL anywhere else stays a plain link and is never fetched.
    /// </summary>
    public List<string> FileHosts { get; set; } = [];

    /// <summary>Largest file the bridge uploads here (a larger one leaves a notice); the service's own max-file-size also applies.</summary>
    public long MaxAttachmentBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>
    /// Domains whose accounts may open a direct chat with a puppet (and be reached by one); unset: the server's own
    /// domain only (the component domain's parent). A chat from any other domain is dropped before the core sees it.
    /// </summary>
    public List<string> DirectMessagesFrom { get; set; } = [];

    /// <summary>The domains whose accounts take part in direct chats: <see cref="DirectMessagesFrom"/>, else the component domain's parent.</summary>
    internal IReadOnlyList<string> DirectDomains()
    {
        if (DirectMessagesFrom.Count > 0)
        {
            return [.. DirectMessagesFrom.Select(d => d.ToLowerInvariant())];
        }

        var dot = ComponentDomain.IndexOf('.', StringComparison.Ordinal);
        return [(dot > 0 ? ComponentDomain[(dot + 1)..] : ComponentDomain).ToLowerInvariant()];
    }

    internal IReadOnlyList<ConfigError> Validate(string prefix)
    {
        var errors = new List<ConfigError>();
        void Add(string key, string message) => errors.Add(new ConfigError($"{prefix}:{key}", message));

        if (string.IsNullOrWhiteSpace(Host))
        {
            Add("host", "is required (the server's component listener, e.g. 127.0.0.1)");
        }

        if (Port is < 1 or > 65535)
        {
            Add("port", $"must be between 1 and 65535, got {Port}");
        }

        if (!Jid.IsValidDomain(ComponentDomain))
        {
            Add("componentDomain", $"must be a domain name such as bridge.example.org, got '{ComponentDomain}'");
        }

        if (string.IsNullOrEmpty(Secret))
        {
            Add("secret", "is required (the component_secret configured on the server)");
        }

        if (MucService is not null && !Jid.IsValidDomain(MucService))
        {
            Add("mucService", $"must be a domain name such as conference.example.org, got '{MucService}'");
        }

        if (string.IsNullOrWhiteSpace(BotNick) || BotNick.Length > 64 || BotNick.Any(char.IsControl))
        {
            Add("botNick", "must be 1-64 printable characters");
        }

        if (MaxStanzaBytes is < 4096 or > 16 * 1024 * 1024)
        {
            Add("maxStanzaBytes", $"must be between 4096 and 16777216, got {MaxStanzaBytes}");
        }

        foreach (var (key, value) in new[]
                 {
                     ("connectTimeout", ConnectTimeout), ("reconnectInitialDelay", ReconnectInitialDelay),
                     ("reconnectMaxDelay", ReconnectMaxDelay), ("joinTimeout", JoinTimeout), ("sendTimeout", SendTimeout), ("keepAliveInterval", KeepAliveInterval),
                 })
        {
            if (value <= TimeSpan.Zero)
            {
                Add(key, $"must be positive, got {value}");
            }
        }

        if (ReconnectMaxDelay < ReconnectInitialDelay)
        {
            Add("reconnectMaxDelay", "must not be smaller than reconnectInitialDelay");
        }

        if (UploadService is not null && !Jid.IsValidDomain(UploadService))
        {
            Add("uploadService", $"must be a domain name such as upload.example.org, got '{UploadService}'");
        }

        for (var i = 0; i < FileHosts.Count; i++)
        {
            if (!IsHostAndPort(FileHosts[i]))
            {
                Add($"fileHosts:{i}", $"must be a host name or host:port (no scheme, no path), got '{FileHosts[i]}'");
            }
        }

        if (MaxAttachmentBytes is < 1 or > 10L * 1024 * 1024 * 1024)
        {
            Add("maxAttachmentBytes", "must be between 1 and 10737418240 (10 GB)");
        }

        for (var i = 0; i < DirectMessagesFrom.Count; i++)
        {
            if (!Jid.IsValidDomain(DirectMessagesFrom[i]) || string.Equals(DirectMessagesFrom[i], ComponentDomain, StringComparison.OrdinalIgnoreCase))
            {
                Add($"directMessagesFrom:{i}", $"must be a domain name such as example.org (not the component's own), got '{DirectMessagesFrom[i]}'");
            }
        }

        if (JoinConcurrency is < 1 or > 256)
        {
            Add("joinConcurrency", $"must be between 1 and 256, got {JoinConcurrency}");
        }

        if (SendWindow is < 1 or > 256)
        {
            Add("sendWindow", $"must be between 1 and 256, got {SendWindow}");
        }

        if (MaxCatchUpMessages < 0)
        {
            Add("maxCatchUpMessages", "must not be negative");
        }

        return errors;
    }

    /// <summary>A host (or host:port) as an http URL's authority names it, nothing more: no scheme, user, path or wildcard.</summary>
    internal static bool IsHostAndPort(string? value) =>
        !string.IsNullOrWhiteSpace(value) && !value.Contains('@', StringComparison.Ordinal) && !value.Contains('*', StringComparison.Ordinal)
        && Uri.TryCreate("http://" + value + "/", UriKind.Absolute, out var uri) && uri.AbsolutePath == "/" && string.IsNullOrEmpty(uri.Query)
        && (string.Equals(uri.Authority, value, StringComparison.OrdinalIgnoreCase) || string.Equals(uri.Host + ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), value, StringComparison.OrdinalIgnoreCase));
}
