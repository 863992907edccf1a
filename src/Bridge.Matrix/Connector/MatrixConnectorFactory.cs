using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Matrix.Configuration;
using Microsoft.Extensions.Configuration;

namespace Bridge.Matrix.Connector;

/// <summary>Creates the Matrix connector of a network from its <c>networks:&lt;id&gt;:matrix</c> section.</summary>
public sealed class MatrixConnectorFactory : INetworkConnectorFactory
{
    public NetworkKind Kind => NetworkKind.Matrix;

    public IReadOnlyList<ConfigError> Validate(NetworkDefinition network, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(section);
        // Unknown keys and malformed values first, in the bridge's words (the binder's are not for operators).
        var keys = ConfigSchema.FromType(typeof(MatrixOptions)).Check(section.GetSection("matrix"));
        if (keys.Count > 0)
        {
            return keys;
        }

        MatrixOptions options;
        try
        {
            options = Bind(section);
        }
        catch (InvalidOperationException)
        {
            // Not expected after the check above; the binder's own wording is not for operators.
            return [new ConfigError($"networks:{network.Id}:matrix", "cannot be read: a value there does not have the expected form")];
        }

        return options.Validate($"networks:{network.Id}:matrix");
    }

    public INetworkConnector Create(NetworkDefinition network, IConfigurationSection section, ConnectorContext context) =>
        new MatrixConnector(network, Bind(section), context);

    /// <summary>Binds the options from a network section (<c>networks:&lt;id&gt;</c>) or directly from its <c>matrix</c> sub-section.</summary>
    public static MatrixOptions Bind(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var options = new MatrixOptions();
        var matrix = section.GetSection("matrix");
        if (!matrix.Exists() && section["homeserverUrl"] is not null)
        {
            // Already the matrix sub-section (e.g. from the generate-registration verb).
            matrix = section;
        }

        matrix.Bind(options);
        return options;
    }
}
