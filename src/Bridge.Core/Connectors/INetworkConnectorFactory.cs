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
    /// Validates the network's section; each error names the offending key (full path) and why. The kind-specific
    /// section is the factory's to check, unknown keys included (<see cref="ConfigSchema.FromType"/> of its options
    /// type, so the bridge's wording is the same everywhere); the host checks the network's common keys.
    /// </summary>
    IReadOnlyList<ConfigError> Validate(NetworkDefinition network, IConfigurationSection section);

    INetworkConnector Create(NetworkDefinition network, IConfigurationSection section, ConnectorContext context);
}

/// <summary>A configuration problem: the full key path (e.g. <c>networks:org-a:xmpp:port</c>) and why it is wrong.</summary>
public sealed record ConfigError(string Key, string Message)
{
    public override string ToString() => $"{Key}: {Message}";
}
