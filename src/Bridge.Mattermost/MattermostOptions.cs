namespace Bridge.Mattermost;

/// <summary>How remote people appear on Mattermost.</summary>
public enum PuppetMode
{
    /// <summary>Real users with their own tokens when the server allows tokens, otherwise relay.</summary>
    Auto,

    /// <summary>Real users only; deliveries wait if tokens are forbidden.</summary>
    Users,

    /// <summary>One bot posting with override_username / override_icon_url.</summary>
    Relay,
}

/// <summary>The <c>networks:&lt;id&gt;:mattermost</c> section. See docs/mattermost.md.</summary>
public sealed class MattermostOptions
{
    /// <summary>Server base URL, e.g. https://mattermost.example.org (no /api/v4).</summary>
    public string Url { get; set; } = "";

    /// <summary>Personal access token of a system admin (or of a bot with the system_admin role).</summary>
    public string Token { get; set; } = "";

    /// <summary>Team used for channels given without a team ("town-square" instead of "ops/town-square").</summary>
    public string Team { get; set; } = "";

    public PuppetMode PuppetMode { get; set; } = PuppetMode.Auto;

    /// <summary>Create puppets as guests restricted to the linked channels (needs guest accounts enabled).</summary>
    public bool GuestPuppets { get; set; }

    /// <summary>Prefix of puppet usernames; keeps them apart from real accounts.</summary>
    public string PuppetPrefix { get; set; } = "br-";

    /// <summary>Domain of the placeholder e-mail addresses given to puppets.</summary>
    public string PuppetEmailDomain { get; set; } = "localhost";

    /// <summary>Username of the relay bot used when tokens are forbidden (created if bots may be created).</summary>
    public string RelayBotUsername { get; set; } = "bridge-relay";

    /// <summary>Name of the post props that mark the bridge's own posts (echo suppression survives restarts).</summary>
    public string BridgeTag { get; set; } = "bridge";

    /// <summary>How often the WebSocket is pinged (application-level <c>ping</c> action).</summary>
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long after a ping without any frame from the server the WebSocket is declared dead, aborted and replaced.
    /// A silently cut connection is thus noticed within <see cref="PingInterval"/> + this.
    /// </summary>
    public TimeSpan PongTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>First and longest wait between reconnect attempts (exponential in between).</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How far back a REST catch-up reaches before the last seen update, for clock skew between posts.</summary>
    public TimeSpan CatchUpSkew { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest 429 wait absorbed inside one request; longer waits go back to the delivery queue.</summary>
    public TimeSpan MaxInlineRateLimitWait { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Largest file the bridge copies into this server (a larger one leaves a notice); a stock server's own
    /// <c>FileSettings.MaxFileSize</c> is 100 MB. Checked before reading and while reading, never buffered beyond it.
    /// </summary>
    public long MaxAttachmentBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>
    /// How often the catch-up cursors that moved are written (all in one store call). Not a setting: zero (tests) writes
    /// each move at once, as every post did before, one commit each.
    /// </summary>
    internal TimeSpan CursorSaveDelay { get; set; } = TimeSpan.FromSeconds(1);

    internal Uri BaseUri => new(Url.TrimEnd('/') + "/");
}
