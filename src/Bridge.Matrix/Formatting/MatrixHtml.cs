using Bridge.Core.Text.Formatting;

namespace Bridge.Matrix.Formatting;

/// <summary>
/// Sanitises incoming <c>formatted_body</c> with the shared allow-list (<see cref="SafeHtml"/>),
/// and drops the rich-reply fallback (<c>&lt;mx-reply&gt;</c>) with its content.
/// </summary>
internal sealed class MatrixHtml
{
    private readonly SafeHtml _safe = new();

    public string Sanitise(string html) => _safe.Sanitise(StripReplyFallback(html));

    internal static string StripReplyFallback(string html)
    {
        var start = html.IndexOf("<mx-reply>", StringComparison.OrdinalIgnoreCase);
        if (start < 0)
        {
            return html;
        }

        var end = html.IndexOf("</mx-reply>", start, StringComparison.OrdinalIgnoreCase);
        return end < 0 ? html : html[..start] + html[(end + "</mx-reply>".Length)..];
    }

    /// <summary>Removes the quoted "> " lines a rich reply's plain body starts with.</summary>
    public static string StripPlainReplyFallback(string body)
    {
        if (!body.StartsWith("> ", StringComparison.Ordinal))
        {
            return body;
        }

        var lines = body.Split('\n');
        var i = 0;
        while (i < lines.Length && lines[i].StartsWith('>'))
        {
            i++;
        }

        if (i < lines.Length && lines[i].Length == 0)
        {
            i++;
        }

        return string.Join('\n', lines[i..]);
    }

    public static string Escape(string text) => System.Net.WebUtility.HtmlEncode(text);
}
