using System.Text.RegularExpressions;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Microsoft.Extensions.Configuration;

namespace Bridge.Host.Configuration;

/// <summary>Reads and checks <c>networks:</c> and <c>links:</c>; every error names the key.</summary>
internal static partial class TopologyReader
{
    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,62}$")]
    private static partial Regex IdPattern();

    public static (BridgeTopology? Topology, List<ConfigError> Errors) Read(IConfiguration configuration)
    {
        var errors = new List<ConfigError>();
        var networks = new List<NetworkDefinition>();
        var networksSection = configuration.GetSection("networks");
        if (!networksSection.GetChildren().Any())
        {
            errors.Add(new ConfigError("networks", "at least one network is required"));
        }

        foreach (var n in networksSection.GetChildren())
        {
            var key = $"networks:{n.Key}";
            if (!IdPattern().IsMatch(n.Key))
            {
                errors.Add(new ConfigError(key, "a network id must be 1-63 lower-case letters, digits, '-' or '_' and start with a letter or digit"));
                continue;
            }

            var kindText = n["kind"];
            if (string.IsNullOrWhiteSpace(kindText))
            {
                errors.Add(new ConfigError($"{key}:kind", "required: one of xmpp, matrix, mattermost"));
                continue;
            }

            if (!Enum.TryParse<NetworkKind>(kindText, ignoreCase: true, out var kind) || !Enum.IsDefined(kind) || int.TryParse(kindText, out _))
            {
                errors.Add(new ConfigError($"{key}:kind", $"'{kindText}' is not a network kind: use xmpp, matrix or mattermost"));
                continue;
            }

            networks.Add(new NetworkDefinition
            {
                Id = n.Key,
                Kind = kind,
                Organisation = string.IsNullOrWhiteSpace(n["organisation"]) ? n.Key : n["organisation"]!,
                DefaultLabel = NullIfEmpty(n["defaultLabel"]),
                Clearance = NullIfEmpty(n["clearance"]),
                Language = ReadLanguage(n["language"], $"{key}:language", errors),
                DirectMessages = ReadDirectMessages(n["directMessages"], $"{key}:directMessages", errors),
            });
        }

        var known = networks.Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        var links = new List<LinkDefinition>();
        var seenEndpoints = new Dictionary<ChannelRef, string>();
        foreach (var l in configuration.GetSection("links").GetChildren())
        {
            var key = $"links:{l.Key}";
            if (!IdPattern().IsMatch(l.Key))
            {
                errors.Add(new ConfigError(key, "a link id must be 1-63 lower-case letters, digits, '-' or '_'"));
                continue;
            }

            if (l.Key.StartsWith("dm-", StringComparison.Ordinal))
            {
                // Portal ids: a link under one would be taken for the portal (and the portal for one in force).
                errors.Add(new ConfigError(key, "link ids may not start with 'dm-', which names direct-message portals"));
                continue;
            }

            var endpoints = new List<ChannelRef>();
            var languages = new Dictionary<ChannelRef, string>();
            foreach (var e in l.GetSection("endpoints").GetChildren())
            {
                var ekey = $"{key}:endpoints:{e.Key}";
                var network = e["network"];
                var channel = e["channel"];
                if (string.IsNullOrWhiteSpace(network))
                {
                    errors.Add(new ConfigError($"{ekey}:network", "required: the id of a configured network"));
                    continue;
                }

                if (!known.Contains(network))
                {
                    errors.Add(new ConfigError($"{ekey}:network", $"'{network}' is not a configured network"));
                    continue;
                }

                if (string.IsNullOrWhiteSpace(channel))
                {
                    errors.Add(new ConfigError($"{ekey}:channel", "required: the room on that network (MUC JID, Matrix room id or alias, Mattermost team/channel)"));
                    continue;
                }

                var endpoint = new ChannelRef(network, channel.Trim());
                if (seenEndpoints.TryGetValue(endpoint, out var other))
                {
                    errors.Add(new ConfigError(ekey, $"channel '{endpoint}' is already in link '{other}'; a channel belongs to one link"));
                    continue;
                }

                seenEndpoints[endpoint] = l.Key;
                endpoints.Add(endpoint);
                if (ReadLanguage(e["language"], $"{ekey}:language", errors) is { } language)
                {
                    languages[endpoint] = language;
                }
            }

            if (endpoints.Count < 2)
            {
                errors.Add(new ConfigError($"{key}:endpoints", "a link needs at least two endpoints"));
                continue;
            }

            links.Add(new LinkDefinition { Id = l.Key, Endpoints = endpoints, Languages = languages, TranslationEngine = NullIfEmpty(l["translation"]) });
        }

        return (errors.Count == 0 ? new BridgeTopology(networks, links) : null, errors);
    }

    /// <summary>A language code such as <c>en</c>, <c>es</c> or <c>pt-BR</c>; anything else is an error naming the key.</summary>
    private static string? ReadLanguage(string? value, string key, List<ConfigError> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (!Bridge.Core.Translation.LanguageCode.TryNormalise(value, out var code))
        {
            errors.Add(new ConfigError(key, $"'{value}' is not a language code: use a two- or three-letter code such as en, es or fra"));
            return null;
        }

        return code;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    /// <summary><c>directMessages</c>: off unless exactly true (fail closed); anything but true or false is an error.</summary>
    private static bool ReadDirectMessages(string? value, string key, List<ConfigError> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        if (bool.TryParse(value, out var on))
        {
            return on;
        }

        errors.Add(new ConfigError(key, $"'{value}' is not true or false"));
        return false;
    }
}
