using Ganss.Xss;

namespace Bridge.Matrix.Formatting;

/// <summary>
/// Sanitises incoming <c>formatted_body</c> to the tag and attribute set the Matrix spec recommends clients allow,
/// and drops the rich-reply fallback (<c>&lt;mx-reply&gt;</c>) with its content.
/// </summary>
internal sealed class MatrixHtml
{
    private static readonly string[] Tags =
    [
        "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub", "li", "b", "i", "u",
        "strong", "em", "s", "strike", "code", "hr", "br", "div", "table", "thead", "tbody", "tr", "th", "td", "caption", "pre",
        "span", "img", "details", "summary",
    ];

    private static readonly string[] Attributes =
    [
        "data-mx-bg-color", "data-mx-color", "color", "data-mx-spoiler", "href", "target", "width", "height", "alt", "title", "src",
        "start", "class", "data-mx-maths",
    ];

    private readonly HtmlSanitizer _sanitizer;

    public MatrixHtml()
    {
        var options = new HtmlSanitizerOptions
        {
            AllowedTags = new HashSet<string>(Tags, StringComparer.OrdinalIgnoreCase),
            AllowedAttributes = new HashSet<string>(Attributes, StringComparer.OrdinalIgnoreCase),
            AllowedSchemes = new HashSet<string>(["http", "https", "ftp", "mailto", "magnet", "mxc"], StringComparer.OrdinalIgnoreCase),
            UriAttributes = new HashSet<string>(["href", "src"], StringComparer.OrdinalIgnoreCase),
            AllowedCssProperties = new HashSet<string>(StringComparer.OrdinalIgnoreCase),
        };
        _sanitizer = new HtmlSanitizer(options) { KeepChildNodes = false };
        // Matrix clients only load images from the homeserver's media repository (mxc://), never from arbitrary hosts.
        _sanitizer.FilterUrl += (_, e) =>
        {
            if (e.Tag is { } tag && string.Equals(tag.TagName, "img", StringComparison.OrdinalIgnoreCase)
                && !e.OriginalUrl.StartsWith("mxc://", StringComparison.OrdinalIgnoreCase))
            {
                e.SanitizedUrl = null;
            }
        };
    }

    public string Sanitise(string html)
    {
        var clean = _sanitizer.Sanitize(StripReplyFallback(html)).Trim();
        // Deeply nested input can come out as markup that a parser reads differently (table rows outside their table,
        // found by the fuzzer), so the sanitised text is not what clients will see; once more until it is stable.
        for (var pass = 0; pass < 3; pass++)
        {
            var again = _sanitizer.Sanitize(clean).Trim();
            if (string.Equals(again, clean, StringComparison.Ordinal))
            {
                break;
            }

            clean = again;
        }

        return clean;
    }

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
