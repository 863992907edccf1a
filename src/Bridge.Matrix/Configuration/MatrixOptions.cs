using Bridge.Core.Connectors;

namespace Bridge.Matrix.Configuration;

/// <summary>Settings of one Matrix network (<c>networks:&lt;id&gt;:matrix</c>); see docs/matrix.md.</summary>
public sealed class MatrixOptions
{
    /// <summary>Client-server API base URL of the homeserver, e.g. <c>https://matrix.example.org</c>.</summary>
    public string HomeserverUrl { get; set; } = "";

    /// <summary>The homeserver's server name (the part after ':' in user ids).</summary>
    public string ServerName { get; set; } = "";

    /// <summary>The appservice registration file the homeserver loads (tokens, sender, namespaces).</summary>
    public string? RegistrationFile { get; set; }

    /// <summary>Where the bridge listens for the homeserver (transactions, queries), e.g. <c>http://127.0.0.1:29330</c>. Port 0 picks a free port.</summary>
    public string Listen { get; set; } = "http://127.0.0.1:29330";

    /// <summary>The URL the homeserver uses to reach the listener (registration <c>url</c>); defaults to <see cref="Listen"/>.</summary>
    public string? AppserviceUrl { get; set; }

    /// <summary>Override of the registration's <c>as_token</c> (e.g. from an environment variable).</summary>
    public string? AsToken { get; set; }

    /// <summary>Override of the registration's <c>hs_token</c>.</summary>
    public string? HsToken { get; set; }

    /// <summary>Registration id; taken from the registration file when it has one.</summary>
    public string AppserviceId { get; set; } = "bridge";

    /// <summary>The bridge bot's localpart (registration <c>sender_localpart</c>).</summary>
    public string BotLocalpart { get; set; } = "_bridge_bot";

    /// <summary>Puppet localparts start with this prefix; the exclusive user namespace is derived from it.</summary>
    public string PuppetPrefix { get; set; } = "_bridge_";

    /// <summary>Ask the homeserver to ping the listener at start (skipped quietly when unsupported).</summary>
    public bool UsePing { get; set; } = true;

    /// <summary>Longest a single client-server request may take.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Make puppets leave the linked rooms when the bridge stops (off: puppets stay listed, as with most bridges).</summary>
    public bool LeavePuppetsOnStop { get; set; }

    /// <summary>Attachments up to this size are copied into the homeserver's media repository; larger ones are sent as links.</summary>
    public long MaxAttachmentBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>Content key carrying a classification label in both directions.</summary>
    public string LabelField { get; set; } = "org.bridge.classification";

    /// <summary>
    /// Homeservers (server names) whose users may open a direct chat by inviting a puppet; unset: <see cref="ServerName"/>
    /// only. An invite from a user of any other server is rejected before the core sees it.
    /// </summary>
    public List<string> DirectMessagesFrom { get; set; } = [];

    /// <summary>The servers whose users may open direct chats: <see cref="DirectMessagesFrom"/>, else <see cref="ServerName"/>.</summary>
    internal IReadOnlyList<string> DirectServers() => DirectMessagesFrom.Count > 0 ? DirectMessagesFrom : [ServerName];

    /// <summary>Validates; <paramref name="prefix"/> is the configuration path of this section, used in error keys.</summary>
    public IReadOnlyList<ConfigError> Validate(string prefix, bool requireTokens = true)
    {
        var errors = new List<ConfigError>();
        if (!Uri.TryCreate(HomeserverUrl, UriKind.Absolute, out var hs) || hs.Scheme is not ("http" or "https"))
        {
            errors.Add(new ConfigError(prefix + ":homeserverUrl", "required: the homeserver's http(s) base URL"));
        }

        if (string.IsNullOrWhiteSpace(ServerName) || ServerName.Contains('@', StringComparison.Ordinal) || ServerName.Contains('/', StringComparison.Ordinal))
        {
            errors.Add(new ConfigError(prefix + ":serverName", "required: the homeserver's server name, e.g. example.org"));
        }

        for (var i = 0; i < DirectMessagesFrom.Count; i++)
        {
            var server = DirectMessagesFrom[i];
            if (string.IsNullOrWhiteSpace(server) || server.Any(c => char.IsWhiteSpace(c) || c is '@' or '/' or '*'))
            {
                errors.Add(new ConfigError($"{prefix}:directMessagesFrom:{i}", $"must be a server name such as example.org, got '{server}'"));
            }
        }

        if (!Uri.TryCreate(Listen, UriKind.Absolute, out var listen) || listen.Scheme != "http")
        {
            errors.Add(new ConfigError(prefix + ":listen", "required: an http URL to listen on, e.g. http://127.0.0.1:29330"));
        }

        if (AppserviceUrl is not null && !Uri.TryCreate(AppserviceUrl, UriKind.Absolute, out _))
        {
            errors.Add(new ConfigError(prefix + ":appserviceUrl", "must be an absolute URL"));
        }

        if (!IsLocalpart(BotLocalpart))
        {
            errors.Add(new ConfigError(prefix + ":botLocalpart", "must be a valid Matrix localpart (a-z 0-9 . _ = - /)"));
        }

        if (PuppetPrefix.Length == 0 || !IsLocalpart(PuppetPrefix))
        {
            errors.Add(new ConfigError(prefix + ":puppetPrefix", "must be a non-empty Matrix localpart prefix, e.g. _bridge_"));
        }

        if (RequestTimeout <= TimeSpan.Zero)
        {
            errors.Add(new ConfigError(prefix + ":requestTimeout", "must be positive"));
        }

        if (MaxAttachmentBytes is < 1 or > 10L * 1024 * 1024 * 1024)
        {
            errors.Add(new ConfigError(prefix + ":maxAttachmentBytes", "must be between 1 and 10737418240 (10 GB)"));
        }

        if (requireTokens)
        {
            var fileMissing = RegistrationFile is null || !File.Exists(RegistrationFile);
            if (fileMissing && (string.IsNullOrEmpty(AsToken) || string.IsNullOrEmpty(HsToken)))
            {
                errors.Add(new ConfigError(prefix + ":registrationFile",
                    RegistrationFile is null
                        ? "required (or both asToken and hsToken): create it with 'bridge generate-registration'"
                        : $"file '{RegistrationFile}' not found: create it with 'bridge generate-registration'"));
            }
        }

        return errors;
    }

    internal static bool IsLocalpart(string value) =>
        value.Length > 0 && value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '=' or '-' or '/' or '+');
}
