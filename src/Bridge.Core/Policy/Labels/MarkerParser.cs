using System.Buffers;
using System.Globalization;
using System.Text;

namespace Bridge.Core.Policy.Labels;

/// <summary>What the start of a message says about its classification.</summary>
internal enum MarkerKind
{
    /// <summary>The message does not start with a marker.</summary>
    None,

    /// <summary>A marker naming a known label.</summary>
    Known,

    /// <summary>Something that looks like a marker but names no known label (e.g. <c>[SECRT]</c>, <c>[ ]</c>, an unclosed bracket).</summary>
    Malformed,
}

internal readonly record struct Marker(MarkerKind Kind, int Rank);

/// <summary>
/// Reads a visible classification marker such as <c>[CUI]</c> at the start of a message. Leading whitespace and
/// invisible characters are skipped; any opening bracket look-alike (Unicode open punctuation other than parentheses,
/// braces and low quotation marks) starts a marker, and any closing punctuation ends it.
/// </summary>
internal static class MarkerParser
{
    /// <summary>How far a marker may reach: no label is longer, and an opening bracket without a close this near counts as malformed.</summary>
    public const int MaxMarkerLength = 64;

    public static Marker Parse(ReadOnlySpan<char> text, LabelOrder labels)
    {
        var start = SkipInvisibleAndSpace(text, 0);
        if (start >= text.Length || !IsOpenBracket(text, start, out var openLength))
        {
            return new Marker(MarkerKind.None, 0);
        }

        var contentStart = start + openLength;
        var limit = Math.Min(text.Length, contentStart + MaxMarkerLength);
        for (var i = contentStart; i < limit;)
        {
            if (text[i] is '\n' or '\r')
            {
                break;
            }

            if (Rune.DecodeFromUtf16(text[i..], out var rune, out var consumed) != OperationStatus.Done)
            {
                break;
            }

            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.ClosePunctuation)
            {
                var content = text[contentStart..i];
                var rank = labels.TryRank(content);
                if (rank is { } known)
                {
                    return new Marker(MarkerKind.Known, known);
                }

                // "[text](url)" at the start of a message is a Markdown link, not a marker, unless its text names a label.
                var after = i + consumed;
                if (after < text.Length && text[after] == '(' && rune.Value == ']' && content.Trim().Length > 0)
                {
                    return new Marker(MarkerKind.None, 0);
                }

                return new Marker(MarkerKind.Malformed, labels.Highest);
            }

            i += consumed;
        }

        // An opening bracket with no close on the same line nearby: it looks like a marker, so it counts as one.
        return new Marker(MarkerKind.Malformed, labels.Highest);
    }

    /// <summary>The visible start of an HTML body: skips tags and whitespace, so "&lt;p&gt;&lt;b&gt;[CUI]" finds the marker.</summary>
    public static ReadOnlySpan<char> VisibleStartOfHtml(ReadOnlySpan<char> html)
    {
        var i = 0;
        while (true)
        {
            i = SkipInvisibleAndSpace(html, i);
            if (i < html.Length && html[i] == '<')
            {
                var close = html[i..].IndexOf('>');
                if (close < 0)
                {
                    return [];
                }

                i += close + 1;
                continue;
            }

            return html[i..];
        }
    }

    private static int SkipInvisibleAndSpace(ReadOnlySpan<char> text, int i)
    {
        while (i < text.Length)
        {
            if (Rune.DecodeFromUtf16(text[i..], out var rune, out var consumed) != OperationStatus.Done)
            {
                return i;
            }

            if (!Rune.IsWhiteSpace(rune) && !TextFold.IsInvisible(rune.Value))
            {
                return i;
            }

            i += consumed;
        }

        return i;
    }

    private static bool IsOpenBracket(ReadOnlySpan<char> text, int i, out int length)
    {
        length = 0;
        if (Rune.DecodeFromUtf16(text[i..], out var rune, out length) != OperationStatus.Done)
        {
            return false;
        }

        if (rune.Value == '[')
        {
            return true;
        }

        if (rune.Value < 0x80 || Rune.GetUnicodeCategory(rune) != UnicodeCategory.OpenPunctuation)
        {
            return false;
        }

        // Parentheses, braces and low quotation marks open ordinary prose, not markers.
        return rune.Value switch
        {
            0x201A or 0x201E or 0x2E42 => false, // low-9 quotation marks
            0xFF08 or 0xFF5B or 0xFE59 or 0xFE5B or 0x207D or 0x208D or 0x2768 or 0x276A or 0x2774 or 0x2983 or 0x2985
                or 0xFF5F or 0x2E28 or 0xFE35 or 0xFE37 or 0xFD3F or 0xFD3E => false,
            _ => true,
        };
    }
}
