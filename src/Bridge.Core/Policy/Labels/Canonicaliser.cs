using System.Globalization;
using System.Text;

namespace Bridge.Core.Policy.Labels;

/// <summary>
/// Rules R-C1 and R-C2: the canonical form in which markers and structured values are compared with labels.
/// </summary>
internal static class Canonicaliser
{
    /// <summary>
    /// R-C1, in exactly the stated order: fold look-alikes → NFKC → delete invisible code points → fold look-alikes
    /// again → NFKC → full case folding.
    /// </summary>
    public static string Canonical(string text)
    {
        var s = FoldLookAlikes(text);
        s = Nfkc.Normalize(s);
        s = DeleteInvisible(s);
        s = FoldLookAlikes(s);
        s = Nfkc.Normalize(s);
        return Nfkc.CaseFold(s);
    }

    /// <summary>
    /// <see cref="Canonical"/> of one code point, with shortcuts that give the same result: a look-alike becomes its
    /// (case-folded) ASCII letter, an invisible code point nothing, one that NFKC leaves alone only case-folds.
    /// </summary>
    public static string CanonicalRune(Rune rune)
    {
        var cp = rune.Value;
        var folded = LookAlikes.Fold(cp);
        if (folded != cp)
        {
            return ((char)folded is var ascii && ascii is >= 'A' and <= 'Z' ? (char)(ascii + 32) : ascii).ToString();
        }

        if (IsInvisible(cp))
        {
            return "";
        }

        return Nfkc.IsStable(cp) ? Nfkc.CaseFold(rune.ToString()) : Canonical(rune.ToString());
    }

    /// <summary>R-C2: inside a bracket token or a structured value, whitespace, <c>- _ . · •</c> are removed.</summary>
    public static string RemoveSeparators(string canonical)
    {
        var sb = new StringBuilder(canonical.Length);
        foreach (var rune in canonical.EnumerateRunes())
        {
            if (!IsSeparator(rune))
            {
                sb.Append(rune.ToString());
            }
        }

        return sb.ToString();
    }

    /// <summary>The key a label, a token's content or a structured value is compared by: R-C1 then R-C2.</summary>
    public static string Key(string text) => RemoveSeparators(Canonical(text));

    public static bool IsSeparator(Rune rune) => Rune.IsWhiteSpace(rune) || rune.Value is '-' or '_' or '.' or 0x00B7 or 0x2022;

    /// <summary>
    /// R-C1 "invisible": General_Category Cf (soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width
    /// characters, bidi controls, word joiner, BOM, tag characters…) plus U+034F, the Hangul fillers U+115F, U+1160,
    /// U+3164, U+FFA0, and the variation selectors U+FE00–U+FE0F and U+E0100–U+E01EF.
    /// </summary>
    public static bool IsInvisible(int cp) =>
        cp is 0x034F or 0x115F or 0x1160 or 0x3164 or 0xFFA0 or 0x180E or (>= 0xFE00 and <= 0xFE0F) or (>= 0xE0100 and <= 0xE01EF)
            or (>= 0xE0000 and <= 0xE007F)
        || CharUnicodeInfo.GetUnicodeCategory(cp) == UnicodeCategory.Format;

    private static string FoldLookAlikes(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            var folded = LookAlikes.Fold(rune.Value);
            if (folded == rune.Value)
            {
                sb.Append(rune.ToString());
            }
            else
            {
                sb.Append((char)folded);
            }
        }

        return sb.ToString();
    }

    private static string DeleteInvisible(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (!IsInvisible(rune.Value))
            {
                sb.Append(rune.ToString());
            }
        }

        return sb.ToString();
    }
}
