using System.Net;
using System.Text;

namespace Bridge.Core.Policy.Labels;

/// <summary>
/// The text a reader sees in an HTML body (inputs of R-L1): tags are dropped, entities decoded, block elements start a
/// new line (so R-L6 sees later lines), a <c>&lt;blockquote&gt;</c> reads as a <c>&gt;</c> quote (R-L2), and the
/// contents of <c>&lt;mx-reply&gt;</c> (a Matrix client's reply fallback, not the author's text: R-K3),
/// <c>&lt;script&gt;</c>, <c>&lt;style&gt;</c> and comments are not seen.
/// </summary>
internal static class HtmlVisibleText
{
    private static readonly HashSet<string> BlockTags = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "table", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
        "blockquote", "details", "summary", "dl", "dt", "dd", "section", "article", "header", "footer",
    };

    private static readonly HashSet<string> HiddenTags = new(StringComparer.OrdinalIgnoreCase) { "mx-reply", "script", "style", "head", "title" };

    public static string Of(string html)
    {
        var sb = new StringBuilder(html.Length);
        var text = new StringBuilder();
        var quoteDepth = 0;
        var lastClose = html.LastIndexOf('>'); // no tag can start after the last '>'
        var i = 0;
        while (i < html.Length)
        {
            var c = html[i];
            if (c != '<')
            {
                text.Append(c);
                i++;
                continue;
            }

            if (html.AsSpan(i).StartsWith("<!--"))
            {
                var endComment = html.IndexOf("-->", i + 4, StringComparison.Ordinal);
                i = endComment < 0 ? html.Length : endComment + 3;
                continue;
            }

            var close = IsTagStart(html, i + 1) && i < lastClose ? html.IndexOf('>', i + 1) : -1;
            if (close < 0)
            {
                text.Append(c); // a lone '<' is text
                i++;
                continue;
            }

            Flush(sb, text, quoteDepth);
            var (name, closing) = TagName(html, i + 1, close);
            i = close + 1;
            if (!closing && HiddenTags.Contains(name))
            {
                var end = html.IndexOf("</" + name, i, StringComparison.OrdinalIgnoreCase);
                if (end >= 0)
                {
                    var endClose = html.IndexOf('>', end);
                    i = endClose < 0 ? html.Length : endClose + 1;
                }

                continue;
            }

            if (name.Equals("blockquote", StringComparison.OrdinalIgnoreCase))
            {
                quoteDepth = Math.Max(0, quoteDepth + (closing ? -1 : 1));
            }

            if (BlockTags.Contains(name))
            {
                NewLine(sb, quoteDepth);
            }
        }

        Flush(sb, text, quoteDepth);
        return sb.ToString();
    }

    private static bool IsTagStart(string html, int i) => i < html.Length && (char.IsAsciiLetter(html[i]) || html[i] is '/' or '!' or '?');

    private static (string Name, bool Closing) TagName(string html, int from, int close)
    {
        var closing = html[from] == '/';
        var start = closing ? from + 1 : from;
        var end = start;
        while (end < close && (char.IsAsciiLetterOrDigit(html[end]) || html[end] is '-' or ':'))
        {
            end++;
        }

        return (html[start..end], closing);
    }

    private static void Flush(StringBuilder sb, StringBuilder text, int quoteDepth)
    {
        if (text.Length == 0)
        {
            return;
        }

        var decoded = WebUtility.HtmlDecode(text.ToString());
        text.Clear();
        for (var k = 0; k < decoded.Length; k++)
        {
            sb.Append(decoded[k]);
            if (decoded[k] == '\n' && quoteDepth > 0)
            {
                sb.Append("> ");
            }
        }
    }

    private static void NewLine(StringBuilder sb, int quoteDepth)
    {
        sb.Append('\n');
        if (quoteDepth > 0)
        {
            sb.Append("> ");
        }
    }
}
