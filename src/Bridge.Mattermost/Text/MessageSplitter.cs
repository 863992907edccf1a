using System.Globalization;
using System.Text;

namespace Bridge.Mattermost.Text;

/// <summary>
/// Splits text into posts of at most N Unicode code points (the server counts runes, not UTF-16 units). Cuts prefer a
/// paragraph break, then a line break, then a space; a hard cut never falls inside a grapheme cluster (so neither a
/// surrogate pair nor a base letter and its combining marks are torn apart). Outside code fences the parts concatenate to
/// the original text (the break a cut prefers ends the earlier part). A code fence open at a cut is closed at the
/// end of the part and reopened, with its info string, at the start of the next one.
/// </summary>
internal static class MessageSplitter
{
    private const string Fence = "```";

    public static int CodePoints(string text)
    {
        var n = 0;
        foreach (var _ in text.EnumerateRunes())
        {
            n++;
        }
        return n;
    }

    public static IReadOnlyList<string> Split(string text, int maxCodePoints)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCodePoints, 64);
        var parts = new List<string>();
        var rest = text;
        while (CodePoints(rest) > maxCodePoints)
        {
            // Room for a closing fence if the cut lands inside a code block.
            var budget = maxCodePoints - (Fence.Length + 1);
            var limit = IndexAfterCodePoints(rest, budget);
            limit = LastTextElementBoundary(rest, limit);
            var (cut, skip) = ChooseCut(rest, limit);
            var chunk = rest[..cut];
            var separator = rest.Substring(cut, skip);
            rest = rest[(cut + skip)..];
            var openFence = OpenFenceAtEnd(chunk);
            if (openFence is not null)
            {
                chunk += "\n" + Fence;
                rest = openFence + "\n" + rest;
            }
            else
            {
                // The break stays with the earlier part (trailing whitespace renders as nothing), so the parts
                // concatenate to exactly the original text: a cut never glues two words or lines together.
                chunk += separator;
            }
            parts.Add(chunk);
        }
        parts.Add(rest);
        return parts;
    }

    private static (int Cut, int Skip) ChooseCut(string text, int limit)
    {
        var window = text.AsSpan(0, limit);
        var floor = limit / 2; // never make a part absurdly short just to find a nice break
        var para = window.LastIndexOf("\n\n", StringComparison.Ordinal);
        if (para > floor)
        {
            return (para, 2);
        }
        var line = window.LastIndexOf('\n');
        if (line > floor)
        {
            return (line, 1);
        }
        for (var i = limit - 1; i > floor; i--)
        {
            if (text[i] == ' ')
            {
                return (i, 1);
            }
        }
        return (limit, 0);
    }

    /// <summary>UTF-16 index just after the first <paramref name="count"/> code points.</summary>
    private static int IndexAfterCodePoints(string text, int count)
    {
        var index = 0;
        for (var n = 0; n < count && index < text.Length; n++)
        {
            index += char.IsHighSurrogate(text[index]) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]) ? 2 : 1;
        }
        return index;
    }

    /// <summary>The last grapheme-cluster boundary at or before <paramref name="limit"/>.</summary>
    private static int LastTextElementBoundary(string text, int limit)
    {
        var last = 0;
        var i = 0;
        while (i < text.Length)
        {
            var len = StringInfo.GetNextTextElementLength(text, i);
            if (i + len > limit)
            {
                break;
            }
            i += len;
            last = i;
        }
        // A single cluster longer than the whole budget (absurd zalgo text): cut between code points instead.
        // limit itself never splits a surrogate pair (it counts code points).
        return last == 0 ? limit : last;
    }

    /// <summary>The opening fence line (with its info string) if the chunk ends inside a fenced code block.</summary>
    private static string? OpenFenceAtEnd(string chunk)
    {
        string? open = null;
        foreach (var raw in chunk.Split('\n'))
        {
            var line = raw.TrimStart();
            if (!line.StartsWith(Fence, StringComparison.Ordinal))
            {
                continue;
            }
            open = open is null ? line.TrimEnd() : null;
        }
        return open;
    }

    internal static string Describe(string s)
    {
        var sb = new StringBuilder();
        foreach (var r in s.EnumerateRunes())
        {
            sb.Append(CultureInfo.InvariantCulture, $"U+{r.Value:X4} ");
        }
        return sb.ToString();
    }
}
