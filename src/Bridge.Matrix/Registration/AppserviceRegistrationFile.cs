using YamlDotNet.RepresentationModel;

namespace Bridge.Matrix.Registration;

/// <summary>The parts of an appservice registration file the bridge needs.</summary>
public sealed record AppserviceRegistrationFile(string Id, string? Url, string AsToken, string HsToken, string SenderLocalpart,
    IReadOnlyList<string> UserRegexes)
{
    /// <summary>Whether the registration asks for ephemeral events (typing): <c>receive_ephemeral</c> or MSC2409's unstable key.</summary>
    public bool ReceivesEphemeral { get; init; }

    public static AppserviceRegistrationFile Load(string path) => Parse(File.ReadAllText(path));

    public static AppserviceRegistrationFile Parse(string yaml)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(yaml))
        {
            stream.Load(reader);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new FormatException("registration file is not a YAML mapping");
        }

        var regexes = new List<string>();
        if (Child(root, "namespaces") is YamlMappingNode ns && Child(ns, "users") is YamlSequenceNode users)
        {
            foreach (var entry in users.Children.OfType<YamlMappingNode>())
            {
                if (Child(entry, "regex") is YamlScalarNode { Value: { } regex })
                {
                    regexes.Add(regex);
                }
            }
        }

        return new AppserviceRegistrationFile(
            Scalar(root, "id") ?? "bridge",
            Scalar(root, "url"),
            Scalar(root, "as_token") ?? throw new FormatException("registration lacks as_token"),
            Scalar(root, "hs_token") ?? throw new FormatException("registration lacks hs_token"),
            Scalar(root, "sender_localpart") ?? throw new FormatException("registration lacks sender_localpart"),
            regexes)
        {
            ReceivesEphemeral = IsTrue(Scalar(root, "receive_ephemeral")) || IsTrue(Scalar(root, "de.sorunome.msc2409.push_ephemeral")),
        };
    }

    private static bool IsTrue(string? value) => string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);

    private static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static string? Scalar(YamlMappingNode node, string key) => (Child(node, key) as YamlScalarNode)?.Value;
}
