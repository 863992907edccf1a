using Bridge.Core.Connectors.Capabilities;
using Bridge.Core.Text;

namespace Bridge.Xmpp;

internal sealed partial class XmppConnector
{
    /// <summary>
    /// What a MUC room shows to clients that implement the XEPs the bridge sends (docs/capabilities.md): corrections
    /// (XEP-0308), retractions (XEP-0424, with a fallback body for older clients), reactions (XEP-0444), replies (XEP-0461),
    /// threads (XEP-0201 thread ids), files (XEP-0363 upload with XEP-0066 out-of-band data, where the server has the service).
    /// </summary>
    internal static readonly NetworkCapabilities Declared = new()
    {
        Edits = true,
        Deletes = true,
        Reactions = true,
        ReactionRemoval = true,
        Replies = true,
        Threads = true,
        Files = true,
        RichText = RichText.Styling,
        Typing = true,
        ReactionKeys = "emoji only (XEP-0444)",
    };

    public NetworkCapabilities Capabilities => Declared;

    /// <summary>XEP-0444 reactions are emoji; a word or a <c>:shortcode:</c> from elsewhere is shown as a line of text.</summary>
    public bool CanShowReaction(string key) => EmojiKey.IsEmoji(key.Trim());
}
