using System.Text;

namespace Bridge.Core.Text.Formatting;

/// <summary>
/// Reads XEP-0393 message styling (the plain body of an XMPP message) into sanitised HTML: spans (*strong*,
/// _emphasis_, ~strike~, `pre`), ``` preformatted blocks and &gt; quotes. Null when the text has no styling.
/// </summary>
public sealed class StylingToHtml(SafeHtml safe)
{
    public string? Convert(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var styled = false;
        var html = Blocks(lines, ref styled);
        return styled ? safe.Sanitise(html) is { Length: > 0 } clean ? clean : null : null;
    }

    private static string Blocks(IReadOnlyList<string> lines, ref bool styled)
    {
        var sb = new StringBuilder();
        var plain = new List<string>();
        var i = 0;
        while (i < lines.Count)
        {
            var line = lines[i];
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                Flush(sb, plain, ref styled);
                // The block runs to a line of exactly ``` or, unclosed, to the end of the enclosing block.
                var end = i + 1;
                while (end < lines.Count && lines[end] != "```")
                {
                    end++;
                }

                var code = string.Join('\n', lines.Skip(i + 1).Take(end - i - 1));
                sb.Append("<pre><code>").Append(SafeHtml.Escape(code)).Append("</code></pre>");
                styled = true;
                i = Math.Min(end + 1, lines.Count);
                continue;
            }

            if (line.StartsWith('>'))
            {
                Flush(sb, plain, ref styled);
                var quoted = new List<string>();
                while (i < lines.Count && lines[i].StartsWith('>'))
                {
                    var rest = lines[i][1..];
                    quoted.Add(rest.StartsWith(' ') ? rest[1..] : rest);
                    i++;
                }

                sb.Append("<blockquote>").Append(Blocks(quoted, ref styled)).Append("</blockquote>");
                styled = true;
                continue;
            }

            plain.Add(line);
            i++;
        }

        Flush(sb, plain, ref styled);
        return sb.ToString();
    }

    private static void Flush(StringBuilder sb, List<string> plain, ref bool styled)
    {
        if (plain.Count == 0)
        {
            return;
        }

        // Blank lines next to a block are only separation.
        var lines = plain.SkipWhile(l => l.Length == 0).Reverse().SkipWhile(l => l.Length == 0).Reverse().ToList();
        plain.Clear();
        if (lines.Count == 0)
        {
            return;
        }

        sb.Append("<p>");
        for (var i = 0; i < lines.Count; i++)
        {
            if (i > 0)
            {
                sb.Append("<br>");
            }

            sb.Append(Spans(lines[i], "", ref styled));
        }

        sb.Append("</p>");
    }

    /// <summary>Spans of one line; <paramref name="open"/> are the directives already open around it (not nested again).</summary>
    internal static string Spans(string line, string open, ref bool styled)
    {
        var sb = new StringBuilder();
        var i = 0;
        while (i < line.Length)
        {
            var c = line[i];
            if (c is '*' or '_' or '~' or '`' && !open.Contains(c) && CanOpen(line, i) && Closing(line, i) is { } close)
            {
                var inner = line[(i + 1)..close];
                var (tag, end) = c switch
                {
                    '*' => ("<strong>", "</strong>"),
                    '_' => ("<em>", "</em>"),
                    '~' => ("<del>", "</del>"),
                    _ => ("<code>", "</code>"),
                };
                sb.Append(tag).Append(c == '`' ? SafeHtml.Escape(inner) : Spans(inner, open + c, ref styled)).Append(end);
                styled = true;
                i = close + 1;
                continue;
            }

            sb.Append(SafeHtml.Escape(c.ToString()));
            i++;
        }

        return sb.ToString();
    }

    /// <summary>An opening directive starts the line or follows whitespace or another directive, and precedes text.</summary>
    private static bool CanOpen(string line, int i) =>
        (i == 0 || char.IsWhiteSpace(line[i - 1]) || line[i - 1] is '*' or '_' or '~' or '`')
        && i + 1 < line.Length && !char.IsWhiteSpace(line[i + 1]) && line[i + 1] != line[i];

    /// <summary>The first matching directive after some text, not preceded by whitespace.</summary>
    private static int? Closing(string line, int open)
    {
        for (var j = open + 2; j < line.Length; j++)
        {
            if (line[j] == line[open])
            {
                if (!char.IsWhiteSpace(line[j - 1]))
                {
                    return j;
                }

                // A code span never holds a backtick, so that writing one back gives the same span.
                if (line[open] == '`')
                {
                    return null;
                }
            }
        }

        return null;
    }
}
