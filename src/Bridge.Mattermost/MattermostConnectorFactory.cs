using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Microsoft.Extensions.Configuration;

namespace Bridge.Mattermost;

/// <summary>Builds the Mattermost connector from <c>networks:&lt;id&gt;:mattermost</c>.</summary>
public sealed class MattermostConnectorFactory : INetworkConnectorFactory
{
    public NetworkKind Kind => NetworkKind.Mattermost;

    public IReadOnlyList<ConfigError> Validate(NetworkDefinition network, IConfigurationSection section)
    {
        var prefix = $"{section.Path}:mattermost";
        var errors = new List<ConfigError>();
        // Unknown keys and malformed values first, in the bridge's words (the binder's are not for operators).
        var keys = ConfigSchema.FromType(typeof(MattermostOptions)).Check(section.GetSection("mattermost"));
        if (keys.Count > 0)
        {
            return keys;
        }

        MattermostOptions options;
        try
        {
            options = Bind(section);
        }
        catch (InvalidOperationException)
        {
            // Not expected after the check above; the binder's own wording is not for operators.
            return [new ConfigError(prefix, "cannot be read: a value there does not have the expected form")];
        }
        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            errors.Add(new ConfigError($"{prefix}:url", $"'{options.Url}' is not an http(s) URL of a Mattermost server"));
        }
        else if (url.AbsolutePath.Contains("/api/", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(new ConfigError($"{prefix}:url", "give the server's base URL, without /api/v4"));
        }
        if (string.IsNullOrWhiteSpace(options.Token))
        {
            errors.Add(new ConfigError($"{prefix}:token", "a personal access token of a system admin (or admin bot) is required"));
        }
        if (!Puppets.PuppetNaming.IsValidPrefix(options.PuppetPrefix))
        {
            errors.Add(new ConfigError($"{prefix}:puppetPrefix", "use up to 10 characters of a-z, 0-9, '.', '-', '_'"));
        }
        if (options.BridgeTag.Length == 0 || !options.BridgeTag.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            errors.Add(new ConfigError($"{prefix}:bridgeTag", "use letters, digits and '_'"));
        }
        if (options.MaxAttachmentBytes is < 1 or > 10L * 1024 * 1024 * 1024)
        {
            errors.Add(new ConfigError($"{prefix}:maxAttachmentBytes", "must be between 1 and 10737418240 (10 GB)"));
        }
        if (options.PingInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add(new ConfigError($"{prefix}:pingInterval", "must be at least one second"));
        }
        if (options.PongTimeout < TimeSpan.FromMilliseconds(500))
        {
            // Shorter: a busy server's answer would count as a dead connection. (Longer than pingInterval is capped to it.)
            errors.Add(new ConfigError($"{prefix}:pongTimeout", "must be at least 00:00:00.500"));
        }
        return errors;
    }

    public INetworkConnector Create(NetworkDefinition network, IConfigurationSection section, ConnectorContext context) =>
        new MattermostConnector(network, Bind(section), context);

    internal static MattermostOptions Bind(IConfigurationSection section)
    {
        var options = new MattermostOptions();
        section.GetSection("mattermost").Bind(options);
        return options;
    }
}
