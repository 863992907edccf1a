using System.Collections;
using Microsoft.Extensions.Configuration;

namespace Bridge.Host.Configuration;

/// <summary>
/// Environment variables prefixed <c>BRIDGE_</c> (<c>__</c> separates levels), with network and link ids lower-cased:
/// <c>BRIDGE_NETWORKS__ORG-A-XMPP__XMPP__SECRET</c> overrides <c>networks: org-a-xmpp: xmpp: secret</c>.
/// </summary>
/// <remarks>
/// Configuration keys are case-insensitive, but a section's name as listed is the spelling of whichever source
/// listed it, so an upper-case id from the environment would otherwise surface as a network called <c>ORG-A-XMPP</c>
/// (and fail the id rule, or stand apart from the file's <c>org-a-xmpp</c>). Ids are lower-case by rule, so
/// lower-casing them here changes no valid configuration. Other key names are matched case-insensitively anyway.
/// </remarks>
internal sealed class EnvironmentOverridesProvider(string prefix, Func<IDictionary> variables) : ConfigurationProvider
{
    private static readonly string[] SectionsKeyedById = ["networks", "links"];

    public override void Load()
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry entry in variables())
        {
            if (entry.Key is string name && name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && name.Length > prefix.Length)
            {
                data[NormaliseIds(name[prefix.Length..].Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal))] = entry.Value as string;
            }
        }

        Data = data;
    }

    internal static string NormaliseIds(string key)
    {
        var parts = key.Split(ConfigurationPath.KeyDelimiter);
        if (parts.Length >= 2 && SectionsKeyedById.Contains(parts[0], StringComparer.OrdinalIgnoreCase))
        {
            parts[0] = parts[0].ToLowerInvariant();
            parts[1] = parts[1].ToLowerInvariant();
        }

        return string.Join(ConfigurationPath.KeyDelimiter, parts);
    }
}

internal sealed class EnvironmentOverridesSource : IConfigurationSource
{
    public required string Prefix { get; init; }

    /// <summary>The process environment unless a test supplies its own.</summary>
    public Func<IDictionary> Variables { get; init; } = Environment.GetEnvironmentVariables;

    public IConfigurationProvider Build(IConfigurationBuilder builder) => new EnvironmentOverridesProvider(Prefix, Variables);
}
