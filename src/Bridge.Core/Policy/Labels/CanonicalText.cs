using System.Text;

namespace Bridge.Core.Policy.Labels;

/// <summary>
/// A text in canonical form (R-C1, applied code point by code point) with, for every canonical character, the span of
/// the original text it came from, so a marker found in the canonical form can be cut out of the original
/// (<see cref="LabelClassifier.StripMarkers"/>). Markdown backslash escapes before ASCII punctuation are removed
/// first (R-L8), so <c>\[CUI\]</c> reads as <c>[CUI]</c>.
/// </summary>
/// <remarks>
/// Canonicalising each code point alone differs from canonicalising the whole string only where NFKC would compose
/// a letter with a following combining mark; such a composite is never ASCII, so either way the token names no label.
/// </remarks>
internal sealed class CanonicalText
{
    private readonly int[] _originStart;
    private readonly int[] _originEnd;

    private CanonicalText(string text, int[] originStart, int[] originEnd)
    {
        Text = text;
        _originStart = originStart;
        _originEnd = originEnd;
    }

    public string Text { get; }

    public int Length => Text.Length;

    public char this[int index] => Text[index];

    /// <summary>The original span [start, end) that canonical characters [from, to) came from.</summary>
    public (int Start, int End) OriginOf(int from, int to) => to <= from ? (0, 0) : (_originStart[from], _originEnd[to - 1]);

    public static CanonicalText From(string original)
    {
        var sb = new StringBuilder(original.Length);
        var starts = new List<int>(original.Length);
        var ends = new List<int>(original.Length);
        var i = 0;
        while (i < original.Length)
        {
            var start = i;
            if (Rune.DecodeFromUtf16(original.AsSpan(i), out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                rune = Rune.ReplacementChar; // a lone surrogate stays visible, so it cannot vanish into a match
                consumed = Math.Max(consumed, 1);
            }

            i += consumed;

            // R-L8: a Markdown backslash escape before ASCII punctuation is removed; the punctuation stays.
            if (rune.Value == '\\' && i < original.Length && IsAsciiPunctuation(original[i]))
            {
                Append(sb, starts, ends, original[i].ToString(), start, i + 1);
                i++;
                continue;
            }

            // R-L6 reads lines: every line break a reader sees (CR, VT, FF, NEL, LINE and PARAGRAPH SEPARATOR) is a
            // '\n', and CR LF one break, so no marker hides on a line the reader sees but the reader here would not.
            if (rune.Value is '\r' or '\v' or '\f' or 0x85 or 0x2028 or 0x2029)
            {
                var crlf = rune.Value == '\r' && i < original.Length && original[i] == '\n';
                Append(sb, starts, ends, crlf ? "" : "\n", start, i);
                continue;
            }

            var canonical = rune.Value < 0x80
                ? (rune.Value is >= 'A' and <= 'Z' ? ((char)(rune.Value + 32)).ToString() : ((char)rune.Value).ToString())
                : Canonicaliser.CanonicalRune(rune);
            Append(sb, starts, ends, canonical, start, i);
        }

        return new CanonicalText(sb.ToString(), [.. starts], [.. ends]);
    }

    private static bool IsAsciiPunctuation(char c) => c is >= '!' and <= '/' or >= ':' and <= '@' or >= '[' and <= '`' or >= '{' and <= '~';

    private static void Append(StringBuilder sb, List<int> starts, List<int> ends, string canonical, int start, int end)
    {
        sb.Append(canonical);
        for (var k = 0; k < canonical.Length; k++)
        {
            starts.Add(start);
            ends.Add(end);
        }
    }
}
