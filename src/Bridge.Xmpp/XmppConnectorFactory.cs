using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Microsoft.Extensions.Configuration;

namespace Bridge.Xmpp;

/// <summary>Creates XMPP connectors; options come from <c>networks:&lt;id&gt;:xmpp</c>.</summary>
public sealed class XmppConnectorFactory : INetworkConnectorFactory
{
    public NetworkKind Kind => NetworkKind.Xmpp;

    public IReadOnlyList<ConfigError> Validate(NetworkDefinition network, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(section);
        var xmpp = section.GetSection("xmpp");
        if (!xmpp.Exists())
        {
            return [new ConfigError(xmpp.Path, "is required for an XMPP network (host, port, componentDomain, secret)")];
        }

        // Unknown keys and malformed values first, in the bridge's words (the binder's are not for operators).
        var keys = ConfigSchema.FromType(typeof(XmppOptions)).Check(xmpp);
        if (keys.Count > 0)
        {
            return keys;
        }

        try
        {
            return Bind(section).Validate(xmpp.Path);
        }
        catch (InvalidOperationException)
        {
            // Not expected after the check above; the binder's own wording is not for operators.
            return [new ConfigError(xmpp.Path, "cannot be read: a value there does not have the expected form")];
        }
    }

    public INetworkConnector Create(NetworkDefinition network, IConfigurationSection section, ConnectorContext context)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(section);
        var options = Bind(section);
        var errors = options.Validate(section.GetSection("xmpp").Path);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("invalid XMPP configuration: " + string.Join("; ", errors));
        }

        return new XmppConnector(network, options, context);
    }

    internal static XmppOptions Bind(IConfigurationSection section) =>
        section.GetSection("xmpp").Get<XmppOptions>() ?? new XmppOptions();
}
