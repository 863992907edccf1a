using YamlDotNet.RepresentationModel;

namespace Sandbox.Matrix.Appservices;

/// <summary>Reads an appservice registration YAML file (the format Synapse, Conduit and Dendrite accept).</summary>
public static class RegistrationLoader
{
    public static AppserviceRegistration LoadFile(string path) => Parse(File.ReadAllText(path));

    public static AppserviceRegistration Parse(string yaml)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(yaml))
        {
            stream.Load(reader);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new FormatException("Registration must be a YAML mapping");
        }

        var registration = new AppserviceRegistration
        {
            Id = Required(root, "id"),
            Url = Scalar(root, "url") is { Length: > 0 } url && url != "null" && url != "~" ? url : null,
            AsToken = Required(root, "as_token"),
            HsToken = Required(root, "hs_token"),
            SenderLocalpart = Required(root, "sender_localpart"),
            RateLimited = string.Equals(Scalar(root, "rate_limited"), "true", StringComparison.OrdinalIgnoreCase),
            ReceiveEphemeral = string.Equals(Scalar(root, "receive_ephemeral"), "true", StringComparison.OrdinalIgnoreCase),
            ReceiveEphemeralUnstable = string.Equals(Scalar(root, "de.sorunome.msc2409.push_ephemeral"), "true", StringComparison.OrdinalIgnoreCase),
        };

        if (root.Children.TryGetValue(new YamlScalarNode("namespaces"), out var nsNode) && nsNode is YamlMappingNode ns)
        {
            ReadNamespace(ns, "users", registration.Users);
            ReadNamespace(ns, "aliases", registration.Aliases);
            ReadNamespace(ns, "rooms", registration.Rooms);
        }

        return registration;
    }

    private static void ReadNamespace(YamlMappingNode ns, string key, IList<NamespaceEntry> target)
    {
        if (!ns.Children.TryGetValue(new YamlScalarNode(key), out var node) || node is not YamlSequenceNode seq)
        {
            return;
        }

        foreach (var item in seq.Children.OfType<YamlMappingNode>())
        {
            target.Add(new NamespaceEntry
            {
                Regex = Required(item, "regex"),
                Exclusive = string.Equals(Scalar(item, "exclusive"), "true", StringComparison.OrdinalIgnoreCase),
            });
        }
    }

    private static string Required(YamlMappingNode node, string key) =>
        Scalar(node, key) ?? throw new FormatException($"Registration is missing '{key}'");

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode scalar ? scalar.Value : null;
}
