using System.Text;

namespace Bridge.Core.Policy.Content;

/// <summary>
/// Stops channel-wide mentions that arrive from another network from notifying everyone: a WORD JOINER (U+2060,
/// invisible, zero width) goes right after the '@' of <c>@all</c>, <c>@channel</c>, <c>@here</c>, <c>@room</c> and
/// <c>@everyone</c>. The text still reads the same, but no server matches it as a mention keyword any more
/// (Mattermost's @-mention scanner and Matrix's <c>@room</c> push rule both need the '@' right before the word).
/// </summary>
/// <remarks>
/// A plain scan, linear in the text, rather than a regular expression with a match timeout: a timeout is wall-clock
/// time, so on a loaded machine a long message could time out and be blocked though nothing in it was costly.
/// </remarks>
internal static class MentionNeutraliser
{
    public const char WordJoiner = '\u2060';

    private static readonly string[] Keywords = ["all", "channel", "here", "room", "everyone"];

    public static bool MightContain(string text) => text.Contains('@', StringComparison.Ordinal);

    /// <summary>The text with channel-wide mentions neutralised; the same instance when there were none.</summary>
    public static string Neutralise(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        StringBuilder? result = null;
        var copied = 0;
        for (var at = text.IndexOf('@', StringComparison.Ordinal); at >= 0; at = text.IndexOf('@', at + 1))
        {
            if (!IsWideMention(text, at))
            {
                continue;
            }

            result ??= new StringBuilder(text.Length + 8);
            result.Append(text, copied, at + 1 - copied).Append(WordJoiner);
            copied = at + 1;
        }

        return result is null ? text : result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>An '@' not inside a word, address or handle, followed by a keyword that ends there.</summary>
    private static bool IsWideMention(string text, int at)
    {
        if (at > 0 && (IsWordChar(text[at - 1]) || text[at - 1] is '.' or '@'))
        {
            return false;
        }

        foreach (var keyword in Keywords)
        {
            var end = at + 1 + keyword.Length;
            if (end <= text.Length && string.Compare(text, at + 1, keyword, 0, keyword.Length, StringComparison.OrdinalIgnoreCase) == 0
                && (end == text.Length || !IsWordChar(text[end])))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsWordChar(char c) => char.IsLetter(c) || char.IsNumber(c) || c is '_' or '-';
}
