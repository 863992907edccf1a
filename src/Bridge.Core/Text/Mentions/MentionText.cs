using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Bridge.Core.Model;

namespace Bridge.Core.Text.Mentions;

/// <summary>
/// Puts each destination's form of a mention where the source's words for it are: in text (Markdown, styling, plain)
/// and in HTML text nodes. Mentions are placed in order; one whose words are not found (a translation changed them)
/// is left out rather than guessed. Nothing inside code, links or HTML tags is touched.
/// </summary>
public static partial class MentionText
{
    [GeneratedRegex(@"(```[\s\S]*?(```|$)|`[^`\n]*`)", RegexOptions.None, 250)]
    private static partial Regex CodeSpans();

    [GeneratedRegex(@"(<[^>]*>)")]
    private static partial Regex Tags();

    /// <summary>
    /// Replaces the words of each mention in <paramref name="text"/> by <paramref name="render"/>'s form; a null form
    /// keeps the words. Code spans and fences are left as they are.
    /// </summary>
    public static string Render(string text, IReadOnlyList<Mention> mentions, Func<Mention, string?> render) =>
        Render(text, mentions, render, out _);

    /// <summary>As <see cref="Render(string, IReadOnlyList{Mention}, Func{Mention, string?})"/>, also telling where each form landed (UTF-16 index and length).</summary>
    public static string Render(string text, IReadOnlyList<Mention> mentions, Func<Mention, string?> render, out IReadOnlyList<(Mention Mention, int Start, int Length)> placed)
    {
        var places = new List<(Mention, int, int)>();
        placed = places;
        if (mentions.Count == 0 || text.Length == 0)
        {
            return text;
        }

        List<(int Index, int End)> code;
        try
        {
            code = [.. CodeSpans().Matches(text).Select(m => (m.Index, m.Index + m.Length))];
        }
        catch (RegexMatchTimeoutException)
        {
            return text; // too costly to tell code from text: the words stay as written
        }

        var sb = new StringBuilder(text.Length + 16);
        var cursor = 0;
        foreach (var mention in mentions)
        {
            if (mention.Written.Length == 0 || render(mention) is not { } form)
            {
                continue;
            }

            var at = Find(text, mention.Written, cursor, i => code.Any(c => i >= c.Index && i < c.End));
            if (at < 0)
            {
                continue;
            }

            sb.Append(text, cursor, at - cursor);
            places.Add((mention, sb.Length, form.Length));
            sb.Append(form);
            cursor = at + mention.Written.Length;
        }

        return sb.Append(text, cursor, text.Length - cursor).ToString();
    }

    /// <summary>
    /// The same in HTML: the escaped words of each mention in a text node (outside <c>a</c>, <c>code</c> and <c>pre</c>)
    /// become <paramref name="renderHtml"/>'s markup.
    /// </summary>
    public static string RenderHtml(string html, IReadOnlyList<Mention> mentions, Func<Mention, string?> renderHtml)
    {
        if (mentions.Count == 0 || html.Length == 0)
        {
            return html;
        }

        var parts = Tags().Split(html);
        var next = 0;
        var shielded = 0;
        for (var i = 0; i < parts.Length && next < mentions.Count; i++)
        {
            var part = parts[i];
            if (part.StartsWith('<'))
            {
                var name = TagName(part);
                if (name is "a" or "code" or "pre")
                {
                    shielded += part.StartsWith("</", StringComparison.Ordinal) ? -1 : 1;
                    shielded = Math.Max(0, shielded);
                }

                continue;
            }

            if (shielded > 0)
            {
                continue;
            }

            var sb = new StringBuilder();
            var cursor = 0;
            while (next < mentions.Count)
            {
                var mention = mentions[next];
                var words = WebUtility.HtmlEncode(mention.Written);
                var at = words.Length == 0 ? -1 : Find(part, words, cursor, _ => false);
                if (at < 0)
                {
                    break;
                }

                next++;
                if (renderHtml(mention) is not { } markup)
                {
                    continue;
                }

                sb.Append(part, cursor, at - cursor).Append(markup);
                cursor = at + words.Length;
            }

            parts[i] = sb.Append(part, cursor, part.Length - cursor).ToString();
        }

        return string.Concat(parts);
    }

    private static string TagName(string tag)
    {
        var start = tag.StartsWith("</", StringComparison.Ordinal) ? 2 : 1;
        var end = start;
        while (end < tag.Length && char.IsAsciiLetterOrDigit(tag[end]))
        {
            end++;
        }

        return tag[start..end].ToLowerInvariant();
    }

    /// <summary>The first whole-word occurrence at or after <paramref name="from"/> that is not in code.</summary>
    private static int Find(string text, string words, int from, Func<int, bool> inCode)
    {
        for (var at = text.IndexOf(words, from, StringComparison.Ordinal); at >= 0; at = text.IndexOf(words, at + 1, StringComparison.Ordinal))
        {
            var end = at + words.Length;
            var wordStart = at == 0 || !IsWordChar(text[at - 1]) || !IsWordChar(words[0]);
            var wordEnd = end == text.Length || !IsWordChar(text[end]) || !IsWordChar(words[^1]);
            if (wordStart && wordEnd && !inCode(at))
            {
                return at;
            }
        }

        return -1;
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c is '_' or '@';
}
