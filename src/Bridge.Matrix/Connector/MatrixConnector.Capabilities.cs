using Bridge.Core.Connectors.Capabilities;

namespace Bridge.Matrix.Connector;

public sealed partial class MatrixConnector
{
    /// <summary>What a Matrix room shows (docs/capabilities.md). Any text is a valid annotation key.</summary>
    internal static readonly NetworkCapabilities Declared = new()
    {
        Edits = true,
        Deletes = true,
        Reactions = true,
        ReactionRemoval = true,
        Replies = true,
        Threads = true,
        Files = true,
        RichText = RichText.Html,
        Typing = true,
        ReactionKeys = "any text",
    };

    public NetworkCapabilities Capabilities => Declared;

    public bool CanShowReaction(string key) => !string.IsNullOrWhiteSpace(key);
}
