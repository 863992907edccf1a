using System.Globalization;
using System.Text.RegularExpressions;

namespace Bridge.Storm;

/// <summary>
/// The unique tokens the storm's text carries, so copies can be counted in what a person sees: a message is
/// <c>m-&lt;network&gt;-&lt;seq&gt;</c> at the start of its text, its edit's text is <c>ed:</c> plus the message token, a file is
/// named <c>f-&lt;network&gt;-&lt;seq&gt;.txt</c>.
/// </summary>
internal static partial class Tokens
{
    public static string Message(string network, int sequence) => $"m-{network}-{sequence.ToString("D5", CultureInfo.InvariantCulture)}";

    public static string MessageText(string token) => $"{token} storm";

    public static string EditText(string messageToken) => $"ed:{messageToken}";

    public static string File(string network, int sequence) => $"f-{network}-{sequence.ToString("D5", CultureInfo.InvariantCulture)}.txt";

    /// <summary>
    /// The message a visible text (not a correction event) is a copy of: its own text, or its edit's <c>ed:</c> text when
    /// it was edited in place or first arrived already edited (a post written and edited while the daemon was down).
    /// </summary>
    public static string? MessageOf(string text)
    {
        var m = MessagePattern().Match(text);
        return m.Success ? m.Groups["token"].Value : null;
    }

    /// <summary>The message an edit's visible text names (the correction event, the fallback "* ed:…" or a post edited in place).</summary>
    public static string? EditOf(string text) => EditPattern().Match(text) is { Success: true } m ? m.Groups["token"].Value : null;

    public static IEnumerable<string> FilesIn(string text) => FilePattern().Matches(text).Select(m => m.Value);

    public static int SequenceOf(string token) => int.Parse(token.AsSpan(token.LastIndexOf('-') + 1, 5), CultureInfo.InvariantCulture);

    public static string SourceOf(string token) => token.Split('-')[1];

    [GeneratedRegex(@"^(?:\[[^\]]*\] )?(?:ed:)?(?<token>m-(?:xmpp|matrix|mm)-\d{5})\b", RegexOptions.CultureInvariant)]
    private static partial Regex MessagePattern();

    [GeneratedRegex(@"ed:(?<token>m-(?:xmpp|matrix|mm)-\d{5})\b", RegexOptions.CultureInvariant)]
    private static partial Regex EditPattern();

    [GeneratedRegex(@"f-(?:xmpp|matrix|mm)-\d{5}\.txt", RegexOptions.CultureInvariant)]
    private static partial Regex FilePattern();
}
