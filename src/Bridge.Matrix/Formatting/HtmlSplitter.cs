using System.Net;
using System.Text;
using Bridge.Core.Text;

namespace Bridge.Matrix.Formatting;

/// <summary>
/// Splits an HTML fragment (a <c>formatted_body</c>) into parts of at most N bytes of canonical JSON, between words
/// and tags, never inside a tag or a character reference. Elements open at a cut are closed at the end of the part and
/// reopened (with their attributes) at the start of the next, so every part is well formed on its own and the parts
/// read in order say everything the original said. Only the outermost open elements whose tags fit in a quarter of
/// the part are reopened: deeper ones lose their formatting in later parts (their end tags are dropped there too), as
/// otherwise deeply nested input makes every part mostly reopened tags, and a few kilobytes became megabytes of parts.
/// </summary>
internal static class HtmlSplitter
{
    private static readonly HashSet<string> VoidElements = new(StringComparer.OrdinalIgnoreCase)
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
    };

    private static readonly HashSet<string> BlockElements = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "table", "ul", "ol", "details", "summary",
    };

    /// <summary>
    /// Table parts that an HTML parser only accepts inside their parent (a row inside a table body, a cell inside a
    /// row): when the parent is not reopened in a part, a parser would insert one, so they are dropped there too.
    /// </summary>
    private static readonly HashSet<string> TableChildren = new(StringComparer.OrdinalIgnoreCase)
    {
        "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "td", "th",
    };

    /// <summary>Elements whose content a parser fixes up to table parts (text and other elements are moved out of them).</summary>
    private static readonly HashSet<string> TableContainers = new(StringComparer.OrdinalIgnoreCase)
    {
        "table", "thead", "tbody", "tfoot", "tr", "colgroup",
    };

    public static IReadOnlyList<string> Split(string html, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(html);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 256);
        if (Size(html) <= maxBytes)
        {
            return [html];
        }

        var parts = new List<string>();
        var tokens = Tokens(html, maxBytes / 2).ToList();
        // Emitted: the element's start tag is in the current part (so its end tag goes there too).
        var open = new List<(string Name, string Tag, bool Emitted)>();
        var reopenBudget = maxBytes / 4;
        var current = new StringBuilder();
        var size = 0;
        var hasContent = false;
        // The last place in the current part just after a block ended (a paragraph, list item, quote): the preferred cut.
        (int Token, int Length, int Size, List<(string, string, bool)> Open)? blockCut = null;
        for (var t = 0; t < tokens.Count; t++)
        {
            var token = tokens[t];
            var tokenSize = Size(token.Text);
            var closing = ClosingSize(open) + (token.Kind == TokenKind.Start ? Size("</" + token.Name + ">") : 0);
            if (hasContent && size + tokenSize + closing > maxBytes)
            {
                if (blockCut is { } cut && cut.Size > maxBytes / 2)
                {
                    // Go back to the end of the last block and cut there rather than mid-sentence.
                    current.Length = cut.Length;
                    open = [.. cut.Open];
                    t = cut.Token;
                    token = tokens[t];
                    tokenSize = Size(token.Text);
                }

                for (var i = open.Count - 1; i >= 0; i--)
                {
                    if (open[i].Emitted)
                    {
                        current.Append("</").Append(open[i].Name).Append('>');
                    }
                }

                parts.Add(current.ToString());
                current.Clear();
                var reopened = 0;
                for (var i = 0; i < open.Count; i++)
                {
                    var (name, tag, _) = open[i];
                    var cost = Size(tag) + name.Length + 3;
                    var emit = reopened + cost <= reopenBudget && (i == 0 || open[i - 1].Emitted);
                    if (emit)
                    {
                        current.Append(tag);
                        reopened += cost;
                    }

                    open[i] = (name, tag, emit);
                }

                // A table reopened without the row (or body) its content sits in would make a parser insert that row:
                // the table chain is reopened whole or not at all, so content cut from it reads as text.
                var deepest = open.FindLastIndex(o => o.Emitted);
                while (deepest >= 0 && deepest + 1 < open.Count && TableContainers.Contains(open[deepest].Name))
                {
                    open[deepest] = open[deepest] with { Emitted = false };
                    deepest--;
                }

                current.Clear();
                foreach (var (_, tag, emitted) in open)
                {
                    if (emitted)
                    {
                        current.Append(tag);
                    }
                }

                size = Size(current.ToString());
                hasContent = false;
                blockCut = null;
            }

            var at = token.Kind == TokenKind.End
                ? open.FindLastIndex(o => string.Equals(o.Name, token.Name, StringComparison.OrdinalIgnoreCase))
                : -1;
            // The end of an element that was not reopened in this part would close nothing here; a row or cell whose
            // table was not reopened would make a parser insert one.
            var emitStart = token.Kind != TokenKind.Start || !TableChildren.Contains(token.Name!)
                || (open.Count > 0 && open[^1].Emitted && TableContainers.Contains(open[^1].Name));
            if (token.Kind == TokenKind.Start ? emitStart : at < 0 || open[at].Emitted)
            {
                current.Append(token.Text);
                size += tokenSize;
            }

            hasContent |= token.Kind is TokenKind.Text or TokenKind.Void;
            switch (token.Kind)
            {
                case TokenKind.Start:
                    open.Add((token.Name!, token.Text, emitStart));
                    break;
                case TokenKind.End:
                    if (at >= 0)
                    {
                        open.RemoveRange(at, open.Count - at);
                    }

                    if (BlockElements.Contains(token.Name!) && t + 1 < tokens.Count)
                    {
                        blockCut = (t + 1, current.Length, size, [.. open]);
                    }

                    break;
                default:
                    break;
            }
        }

        if (hasContent || parts.Count == 0)
        {
            parts.Add(current.ToString());
        }

        return parts;
    }

    /// <summary>The readable text of an HTML part, for the <c>body</c> that goes with it: tags dropped, line breaks kept, references decoded.</summary>
    public static string ToPlainText(string html)
    {
        var sb = new StringBuilder();
        foreach (var token in Tokens(html, int.MaxValue))
        {
            switch (token.Kind)
            {
                case TokenKind.Text:
                    sb.Append(WebUtility.HtmlDecode(token.Text));
                    break;
                case TokenKind.Void when string.Equals(token.Name, "br", StringComparison.OrdinalIgnoreCase):
                    sb.Append('\n');
                    break;
                case TokenKind.End when token.Name is { } name && BlockElements.Contains(name):
                    if (sb.Length > 0 && sb[^1] != '\n')
                    {
                        sb.Append('\n');
                    }

                    break;
                default:
                    break;
            }
        }

        return sb.ToString().TrimEnd('\n');
    }

    private static int Size(string text) => MessageSplitter.Measure(text, TextMeasure.JsonUtf8Bytes);

    private static int ClosingSize(List<(string Name, string Tag, bool Emitted)> open)
    {
        var n = 0;
        foreach (var (name, _, emitted) in open)
        {
            n += emitted ? name.Length + 3 : 0;
        }

        return n;
    }

    private enum TokenKind
    {
        Text,
        Start,
        End,
        Void,
        Other,
    }

    private readonly record struct Token(TokenKind Kind, string Text, string? Name);

    /// <summary>Tags, and text cut into words (each with the white space after it); a word longer than <paramref name="maxWord"/> bytes is cut between characters.</summary>
    private static IEnumerable<Token> Tokens(string html, int maxWord)
    {
        var i = 0;
        while (i < html.Length)
        {
            if (html[i] == '<' && TagEnd(html, i) is var end && end > i)
            {
                var tag = html[i..(end + 1)];
                yield return Classify(tag);
                i = end + 1;
                continue;
            }

            var next = html.IndexOf('<', i + 1);
            var textEnd = next < 0 ? html.Length : next;
            foreach (var word in Words(html[i..textEnd], maxWord))
            {
                yield return new Token(TokenKind.Text, word, null);
            }

            i = textEnd;
        }
    }

    /// <summary>Index of the '&gt;' that ends the tag starting at <paramref name="start"/> (quotes respected), or -1.</summary>
    private static int TagEnd(string html, int start)
    {
        if (start + 1 >= html.Length || !(char.IsAsciiLetter(html[start + 1]) || html[start + 1] is '/' or '!'))
        {
            return -1; // a bare '<' in text
        }

        char? quote = null;
        for (var i = start + 1; i < html.Length; i++)
        {
            var c = html[i];
            if (quote is { } q)
            {
                if (c == q)
                {
                    quote = null;
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '>')
            {
                return i;
            }
        }

        return -1;
    }

    private static Token Classify(string tag)
    {
        if (tag.StartsWith("<!", StringComparison.Ordinal))
        {
            return new Token(TokenKind.Other, tag, null);
        }

        var isEnd = tag.StartsWith("</", StringComparison.Ordinal);
        var nameStart = isEnd ? 2 : 1;
        var nameEnd = nameStart;
        while (nameEnd < tag.Length && (char.IsAsciiLetterOrDigit(tag[nameEnd]) || tag[nameEnd] is '-' or ':'))
        {
            nameEnd++;
        }

        var name = tag[nameStart..nameEnd];
        if (isEnd)
        {
            return new Token(TokenKind.End, tag, name);
        }

        return VoidElements.Contains(name) || tag.EndsWith("/>", StringComparison.Ordinal)
            ? new Token(TokenKind.Void, tag, name)
            : new Token(TokenKind.Start, tag, name);
    }

    private static bool IsReferenceStart(ReadOnlySpan<char> afterAmpersand)
    {
        foreach (var c in afterAmpersand)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '#'))
            {
                return false;
            }
        }

        return true;
    }

    private static IEnumerable<string> Words(string text, int maxWord)
    {
        var start = 0;
        var i = 0;
        while (i < text.Length)
        {
            // A word and the white space after it.
            while (i < text.Length && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var word = text[start..i];
            start = i;
            if (Size(word) <= maxWord)
            {
                yield return word;
                continue;
            }

            // Cut between characters, but never inside a character reference: a torn "&am" + "p;" would show as text.
            // Backticks in HTML are text, not a Markdown fence: a fence closed and reopened at a cut would add text.
            var carry = "";
            foreach (var piece in MessageSplitter.Split(word, maxWord, TextMeasure.JsonUtf8Bytes, codeFences: false))
            {
                var whole = carry + piece;
                var amp = whole.LastIndexOf('&');
                if (amp > 0 && whole.Length - amp <= 32 && whole.IndexOf(';', amp) < 0 && IsReferenceStart(whole.AsSpan(amp + 1)))
                {
                    carry = whole[amp..];
                    yield return whole[..amp];
                }
                else
                {
                    carry = "";
                    yield return whole;
                }
            }

            if (carry.Length > 0)
            {
                yield return carry;
            }
        }
    }
}
