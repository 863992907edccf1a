using System.Globalization;
using System.Text;

namespace Bridge.Core.Text;

/// <summary>
/// Whether a reaction key is emoji and nothing else: what XEP-0444 allows in a reaction, and what networks that show
/// reactions as pictures can show. Decided by Unicode category, so it needs no table that ages.
/// </summary>
public static class EmojiKey
{
    /// <summary>True when <paramref name="key"/> is one or a few emoji (with their joiners, variation selectors, skin tones, keycaps and tags).</summary>
    public static bool IsEmoji(string key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 64)
        {
            return false;
        }

        var pictures = 0;
        var runes = key.EnumerateRunes().ToArray();
        for (var i = 0; i < runes.Length; i++)
        {
            var r = runes[i];
            switch (Rune.GetUnicodeCategory(r))
            {
                case UnicodeCategory.OtherSymbol:
                    pictures++;
                    break;
                case UnicodeCategory.ModifierSymbol when r.Value is >= 0x1F3FB and <= 0x1F3FF: // skin tones
                case UnicodeCategory.NonSpacingMark when r.Value is >= 0xFE00 and <= 0xFE0F: // variation selectors
                case UnicodeCategory.EnclosingMark when r.Value == 0x20E3: // keycap
                case UnicodeCategory.Format when r.Value == 0x200D || r.Value is >= 0xE0020 and <= 0xE007F: // joiner, tags
                    break;
                case UnicodeCategory.DecimalDigitNumber or UnicodeCategory.OtherPunctuation when r.IsAscii && (r.Value is '#' or '*' || char.IsAsciiDigit((char)r.Value))
                    && i + 1 < runes.Length && (runes[i + 1].Value == 0x20E3 || (runes[i + 1].Value == 0xFE0F && i + 2 < runes.Length && runes[i + 2].Value == 0x20E3)):
                    pictures++; // keycap base: 1️⃣ #️⃣
                    break;
                default:
                    return false;
            }
        }

        return pictures > 0;
    }
}
