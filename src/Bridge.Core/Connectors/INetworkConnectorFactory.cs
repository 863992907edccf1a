using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Microsoft.Extensions.Configuration;

namespace Bridge.Core.Connectors;

/// <summary>
/// Creates the connector for one configured network of its kind. Each connector project registers one
/// factory; the host picks it by <see cref="Kind"/>. The factory binds and validates its own options from
/// the network's configuration section (e.g. <c>networks:org-a:xmpp</c>).
/// </summary>
public interface INetworkConnectorFactory
{
    NetworkKind Kind { get; }

    /// <summary>
    /// The options type bound from the network's kind-specific section (<c>networks:&lt;id&gt;:xmpp</c> and so on). Its
    /// public properties are the keys that section may hold: the host reports any other key as unknown before
    /// <see cref="Validate"/> runs. Null: the section is not checked for unknown keys.
    /// </summary>
    Type? OptionsType => null;

    /// <summary>
    /// Validates the network's section; each error names the offending key (full path) and why. Runs only when the
    /// host found no unknown key or malformed value in the section (see <see cref="OptionsType"/>).
    /// </summary>
    IReadOnlyList<ConfigError> Validate(NetworkDefinition network, IConfigurationSection section);

    INetworkConnector Create(NetworkDefinition network, IConfigurationSection section, ConnectorContext context);
}

/// <summary>A configuration problem: the full key path (e.g. <c>networks:org-a:xmpp:port</c>) and why it is wrong.</summary>
public sealed record ConfigError(string Key, string Message)
{
    public override string ToString() => $"{Key}: {Message}";
}
