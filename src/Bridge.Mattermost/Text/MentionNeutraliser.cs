using System.Text.RegularExpressions;

namespace Bridge.Mattermost.Text;

/// <summary>
/// Stops a remote person from notifying a whole Mattermost channel: <c>@all</c>, <c>@channel</c> and <c>@here</c> get an
/// invisible word joiner (U+2060) after the <c>@</c>. It renders exactly as typed, but the server's mention parser no longer
/// sees the keyword. Fenced code is left alone (it never notifies).
/// </summary>
internal static partial class MentionNeutraliser
{
    public const char Joiner = '\u2060';

    [GeneratedRegex(@"(?<![\p{L}\p{N}_.\-])@(all|channel|here)(?![\p{L}\p{N}_\-])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ChannelWide();

    public static string Neutralise(string text)
    {
        if (!text.Contains('@', StringComparison.Ordinal))
        {
            return text;
        }
        var segments = text.Split("```");
        for (var i = 0; i < segments.Length; i += 2) // even segments are outside fences
        {
            segments[i] = ChannelWide().Replace(segments[i], m => "@" + Joiner + m.Groups[1].Value);
        }
        return string.Join("```", segments);
    }
}
