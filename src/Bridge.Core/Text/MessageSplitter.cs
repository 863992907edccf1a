using System.Globalization;
using System.Text;

namespace Bridge.Core.Text;

/// <summary>How a network measures the size of a text.</summary>
public enum TextMeasure
{
    /// <summary>Unicode code points (Mattermost counts runes, not UTF-16 units).</summary>
    CodePoints,

    /// <summary>
    /// Bytes of the text as a JSON string in canonical JSON (Matrix: UTF-8, with <c>"</c>, <c>\</c> and control
    /// characters escaped), excluding the quotes.
    /// </summary>
    JsonUtf8Bytes,
}

/// <summary>
/// Splits text into parts of at most N units of a <see cref="TextMeasure"/> (code points by default). Cuts prefer a
/// paragraph break, then a line break, then a space; a hard cut never falls inside a grapheme cluster (so neither a
/// surrogate pair nor a base letter and its combining marks are torn apart). Outside code fences the parts concatenate to
/// the original text (the break a cut prefers ends the earlier part). A code fence open at a cut is closed at the
/// end of the part and reopened, with its info string, at the start of the next one.
/// </summary>
public static class MessageSplitter
{
    private const string Fence = "```";

    public static int CodePoints(string text) => Measure(text, TextMeasure.CodePoints);

    /// <summary>The size of <paramref name="text"/> in <paramref name="measure"/> units.</summary>
    public static int Measure(string text, TextMeasure measure)
    {
        ArgumentNullException.ThrowIfNull(text);
        var n = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            n += Cost(rune, measure);
        }
        return n;
    }

    public static IReadOnlyList<string> Split(string text, int maxCodePoints) => Split(text, maxCodePoints, TextMeasure.CodePoints);

    public static IReadOnlyList<string> Split(string text, int max, TextMeasure measure) => Split(text, max, measure, codeFences: true);

    /// <summary>
    /// As <see cref="Split(string, int, TextMeasure)"/>; with <paramref name="codeFences"/> false the text is not
    /// Markdown (an HTML word, say) and a cut never adds a fence: the parts concatenate to exactly the text.
    /// </summary>
    public static IReadOnlyList<string> Split(string text, int max, TextMeasure measure, bool codeFences)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 64);
        var parts = new List<string>();
        var rest = text;
        while (Measure(rest, measure) > max)
        {
            // Room for a closing fence if the cut lands inside a code block (the fence and its line break cost the same in every measure).
            var budget = max - (Fence.Length + 2);
            var limit = IndexAfterUnits(rest, budget, measure);
            limit = LastTextElementBoundary(rest, limit);
            var (cut, skip) = ChooseCut(rest, limit);
            var chunk = rest[..cut];
            var separator = rest.Substring(cut, skip);
            rest = rest[(cut + skip)..];
            var openFence = codeFences ? OpenFenceAtEnd(chunk) : null;
            if (openFence is not null && Measure(openFence, measure) > budget / 16)
            {
                // A fence line longer than a part (75 backticks and a page of "info string", from the fuzzer) reopened
                // whole would fill the next part again, and no cut would ever make progress. Its text is already in
                // this part; the next one reopens a plain fence. Short enough to always leave room for progress:
                // a part's cut falls after half of its characters, and a character costs at most 6 units.
                openFence = Fence;
            }

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

    /// <summary>UTF-16 index just after the longest prefix that costs at most <paramref name="budget"/> units (never inside a surrogate pair).</summary>
    private static int IndexAfterUnits(string text, int budget, TextMeasure measure)
    {
        var index = 0;
        var used = 0;
        while (index < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out var consumed);
            var cost = Cost(rune, measure);
            if (used + cost > budget)
            {
                break;
            }

            used += cost;
            index += consumed;
        }
        return index;
    }

    private static int Cost(Rune rune, TextMeasure measure) => measure switch
    {
        TextMeasure.CodePoints => 1,
        _ => rune.Value switch
        {
            '"' or '\\' or '\n' or '\r' or '\t' or '\b' or '\f' => 2,
            < 0x20 => 6, // \u00XX
            _ => rune.Utf8SequenceLength,
        },
    };

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
}
