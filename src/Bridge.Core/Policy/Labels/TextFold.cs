using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace Bridge.Core.Policy.Labels;

/// <summary>
/// Folds text to the plain ASCII a person would read it as: strips invisible characters (zero-width, bidi controls,
/// soft hyphen, variation selectors, tag characters), applies the compatibility mappings that matter for labels
/// (fullwidth forms, mathematical alphanumerics, circled/squared letters: what NFKC does; the runtime runs with
/// invariant globalization where <see cref="string.Normalize()"/> is a no-op, so the mappings are ours), and folds
/// common Cyrillic/Greek/small-capital homoglyphs to their Latin look-alikes.
/// </summary>
/// <remarks>
/// Folding only ever maps a character to one that looks like it, so it can turn a disguised label into the label it
/// shows, never into a different one. Whatever it does not know stays as it is and then fails to match a label, which
/// the label order treats as the highest (fail closed).
/// </remarks>
internal static class TextFold
{
    private static readonly FrozenDictionary<int, char> Confusables = BuildConfusables();

    /// <summary>True for characters that render as nothing (or nearly nothing) and so must not change what a label means.</summary>
    public static bool IsInvisible(int codePoint)
    {
        switch (codePoint)
        {
            case 0x034F: // combining grapheme joiner
            case 0x115F or 0x1160 or 0x3164 or 0xFFA0: // Hangul fillers
            case 0x17B4 or 0x17B5: // Khmer inherent vowels
            case 0x2800: // braille blank
                return true;
        }

        if (codePoint is >= 0xFE00 and <= 0xFE0F or >= 0xE0100 and <= 0xE01EF)
        {
            return true; // variation selectors
        }

        // Cf covers ZWSP/ZWNJ/ZWJ, LRM/RLM, bidi embeddings/overrides/isolates, word joiner, BOM, soft hyphen, tags.
        return CharUnicodeInfo.GetUnicodeCategory(codePoint) == UnicodeCategory.Format;
    }

    /// <summary>True when <paramref name="text"/> holds nothing that <see cref="Fold"/> would change (pure ASCII without controls).</summary>
    public static bool IsPlainAscii(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c >= 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Maps one code point to what it reads as, or -1 when it is invisible.</summary>
    public static int FoldCodePoint(int cp)
    {
        if (cp < 0x80)
        {
            return cp;
        }

        if (IsInvisible(cp))
        {
            return -1;
        }

        if (cp is >= 0xFF01 and <= 0xFF5E)
        {
            return cp - 0xFEE0; // fullwidth ASCII
        }

        if (cp is >= 0x1D400 and <= 0x1D6A3)
        {
            var i = (cp - 0x1D400) % 52; // mathematical alphanumerics: 13 styles of A-Z a-z
            return i < 26 ? 'A' + i : 'a' + (i - 26);
        }

        if (cp is >= 0x1D7CE and <= 0x1D7FF)
        {
            return '0' + ((cp - 0x1D7CE) % 10);
        }

        if (cp is >= 0x24B6 and <= 0x24CF)
        {
            return 'A' + (cp - 0x24B6); // circled capitals
        }

        if (cp is >= 0x24D0 and <= 0x24E9)
        {
            return 'a' + (cp - 0x24D0);
        }

        if (cp is >= 0x1F130 and <= 0x1F149 or >= 0x1F150 and <= 0x1F169 or >= 0x1F170 and <= 0x1F189)
        {
            return 'A' + ((cp - 0x1F130) % 32); // squared, negative circled, negative squared
        }

        if (cp is >= 0x1F1E6 and <= 0x1F1FF)
        {
            return 'A' + (cp - 0x1F1E6); // regional indicators
        }

        if (Rune.IsWhiteSpace(new Rune(cp)))
        {
            return ' ';
        }

        return Confusables.TryGetValue(cp, out var latin) ? latin : cp;
    }

    /// <summary>The folded form of <paramref name="text"/>; the same instance when nothing changes.</summary>
    public static string Fold(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return IsPlainAscii(text) ? text : Fold(text.AsSpan());
    }

    public static string Fold(ReadOnlySpan<char> text)
    {
        var sb = new StringBuilder(text.Length);
        AppendFolded(sb, text);
        return sb.ToString();
    }

    /// <summary>Folds a label: case, whitespace runs and everything <see cref="Fold(string)"/> does.</summary>
    public static string FoldLabel(ReadOnlySpan<char> text)
    {
        var sb = new StringBuilder(text.Length);
        AppendFolded(sb, text);
        // Collapse whitespace runs and trim, so "TOP  SECRET" and " CUI " match their labels.
        var result = new StringBuilder(sb.Length);
        var pendingSpace = false;
        for (var i = 0; i < sb.Length; i++)
        {
            var c = sb[i];
            if (c == ' ' || char.IsWhiteSpace(c))
            {
                pendingSpace = result.Length > 0;
                continue;
            }

            if (pendingSpace)
            {
                result.Append(' ');
                pendingSpace = false;
            }

            result.Append(char.ToUpperInvariant(c));
        }

        return result.ToString();
    }

    private static void AppendFolded(StringBuilder sb, ReadOnlySpan<char> text)
    {
        var i = 0;
        while (i < text.Length)
        {
            if (Rune.DecodeFromUtf16(text[i..], out var rune, out var consumed) != OperationStatus.Done)
            {
                sb.Append('\uFFFD'); // a lone surrogate: keep something visible so it cannot vanish into a match
                i += Math.Max(consumed, 1);
                continue;
            }

            i += consumed;
            var folded = FoldCodePoint(rune.Value);
            if (folded < 0)
            {
                continue;
            }

            if (folded <= 0xFFFF)
            {
                sb.Append((char)folded);
            }
            else
            {
                sb.Append(char.ConvertFromUtf32(folded));
            }
        }
    }

    private static FrozenDictionary<int, char> BuildConfusables()
    {
        // Letters that are drawn like Latin ones (after the Unicode confusables list, restricted to what labels need).
        var map = new Dictionary<int, char>
        {
            // Cyrillic capitals and small letters
            [0x0410] = 'A', [0x0412] = 'B', [0x0421] = 'C', [0x0415] = 'E', [0x041D] = 'H', [0x0406] = 'I', [0x0408] = 'J',
            [0x041A] = 'K', [0x041C] = 'M', [0x041E] = 'O', [0x0420] = 'P', [0x0405] = 'S', [0x0422] = 'T', [0x0425] = 'X',
            [0x0423] = 'Y', [0x04AE] = 'Y', [0x0417] = '3', [0x04C0] = 'I', [0x050C] = 'G', [0x051A] = 'Q', [0x051C] = 'W',
            [0x0430] = 'a', [0x0435] = 'e', [0x043E] = 'o', [0x0440] = 'p', [0x0441] = 'c', [0x0443] = 'y', [0x0445] = 'x',
            [0x0456] = 'i', [0x0458] = 'j', [0x0455] = 's', [0x0501] = 'd', [0x051B] = 'q', [0x051D] = 'w', [0x04BB] = 'h',
            [0x0432] = 'B', [0x043A] = 'K', [0x043C] = 'M', [0x043D] = 'H', [0x0442] = 'T', [0x04CF] = 'l',
            // Greek capitals and small letters
            [0x0391] = 'A', [0x0392] = 'B', [0x0395] = 'E', [0x0396] = 'Z', [0x0397] = 'H', [0x0399] = 'I', [0x039A] = 'K',
            [0x039C] = 'M', [0x039D] = 'N', [0x039F] = 'O', [0x03A1] = 'P', [0x03A4] = 'T', [0x03A5] = 'Y', [0x03A7] = 'X',
            [0x03BF] = 'o', [0x03B9] = 'i', [0x03BA] = 'k', [0x03BD] = 'v', [0x03C1] = 'p', [0x03C4] = 't', [0x03C5] = 'u',
            [0x03C7] = 'x', [0x03B1] = 'a', [0x03F2] = 'c', [0x03F3] = 'j', [0x03DC] = 'F',
            // Latin small capitals and other look-alikes
            [0x1D00] = 'A', [0x0299] = 'B', [0x1D04] = 'C', [0x1D05] = 'D', [0x1D07] = 'E', [0xA730] = 'F', [0x0262] = 'G',
            [0x029C] = 'H', [0x026A] = 'I', [0x1D0A] = 'J', [0x1D0B] = 'K', [0x029F] = 'L', [0x1D0D] = 'M', [0x0274] = 'N',
            [0x1D0F] = 'O', [0x1D18] = 'P', [0x0280] = 'R', [0xA731] = 'S', [0x1D1B] = 'T', [0x1D1C] = 'U', [0x1D20] = 'V',
            [0x1D21] = 'W', [0x028F] = 'Y', [0x1D22] = 'Z', [0x0131] = 'i', [0x017F] = 's', [0x0251] = 'a', [0x0261] = 'g',
            // Letterlike symbols (NFKC maps these)
            [0x2102] = 'C', [0x210A] = 'g', [0x210B] = 'H', [0x210C] = 'H', [0x210D] = 'H', [0x210E] = 'h', [0x2110] = 'I',
            [0x2111] = 'I', [0x2112] = 'L', [0x2113] = 'l', [0x2115] = 'N', [0x2119] = 'P', [0x211A] = 'Q', [0x211B] = 'R',
            [0x211C] = 'R', [0x211D] = 'R', [0x2124] = 'Z', [0x212A] = 'K', [0x212C] = 'B', [0x212D] = 'C', [0x212F] = 'e',
            [0x2130] = 'E', [0x2131] = 'F', [0x2133] = 'M', [0x2134] = 'o', [0x2139] = 'i', [0x2160] = 'I', [0x2164] = 'V',
            [0x2169] = 'X', [0x216C] = 'L', [0x216D] = 'C', [0x216E] = 'D', [0x216F] = 'M',
            // Brackets and dashes that NFKC folds (small and vertical forms)
            [0xFE5D] = '[', [0xFE5E] = ']', [0x2010] = '-', [0x2011] = '-', [0x2012] = '-', [0x2013] = '-', [0x2212] = '-',
            [0xFE63] = '-', [0x00A0] = ' ', [0x2007] = ' ', [0x202F] = ' ',
        };
        return map.ToFrozenDictionary();
    }
}
