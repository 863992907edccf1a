using System.Text.RegularExpressions;

namespace Bridge.Core.Policy.Content;

/// <summary>
/// Stops channel-wide mentions that arrive from another network from notifying everyone: a WORD JOINER (U+2060,
/// invisible, zero width) goes right after the '@' of <c>@all</c>, <c>@channel</c>, <c>@here</c>, <c>@room</c> and
/// <c>@everyone</c>. The text still reads the same, but no server matches it as a mention keyword any more
/// (Mattermost's @-mention scanner and Matrix's <c>@room</c> push rule both need the '@' right before the word).
/// </summary>
internal static partial class MentionNeutraliser
{
    public const char WordJoiner = '\u2060';

    public static bool MightContain(string text) => text.Contains('@', StringComparison.Ordinal);

    /// <summary>The text with channel-wide mentions neutralised; the same instance when there were none.</summary>
    public static string Neutralise(string text) =>
        MightContain(text) && WideMention().IsMatch(text) ? WideMention().Replace(text, "@" + WordJoiner) : text;

    [GeneratedRegex(@"(?<![\p{L}\p{N}_.@-])@(?=(?:all|channel|here|room|everyone)(?![\p{L}\p{N}_-]))", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 250)]
    private static partial Regex WideMention();
}
