using Bridge.Core.Connectors.Capabilities;
using Bridge.Mattermost.Text;

namespace Bridge.Mattermost;

public sealed partial class MattermostConnector
{
    /// <summary>What a Mattermost channel shows (docs/capabilities.md). Replies are posts in the replied post's thread.</summary>
    internal static readonly NetworkCapabilities Declared = new()
    {
        Edits = true,
        Deletes = true,
        Reactions = true,
        ReactionRemoval = true,
        Replies = true,
        Threads = true,
        Files = true,
        RichText = RichText.Markdown,
        Typing = true,
        ReactionKeys = "emoji with a Mattermost name, and :name: shortcodes",
    };

    public NetworkCapabilities Capabilities => Declared;

    /// <summary>
    /// A key Mattermost can show: a Unicode emoji it has a name for, or a <c>:name:</c> shortcode (a Mattermost emoji,
    /// custom ones included, from another Mattermost). Other words would be saved as names of emoji that do not exist.
    /// </summary>
    public bool CanShowReaction(string key) => EmojiMap.ToShortcode(key) is not null && (EmojiMap.HasName(key) || IsShortcode(key.Trim()));

    private static bool IsShortcode(string key) => key.Length > 2 && key[0] == ':' && key[^1] == ':';
}
