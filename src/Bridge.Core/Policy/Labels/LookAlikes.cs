using System.Collections.Frozen;

namespace Bridge.Core.Policy.Labels;

/// <summary>
/// Letters drawn like Latin ones, folded to the ASCII letter a reader sees (rule R-C1). Covers at least the
/// look-alike table of the classification standard (Cyrillic, Greek, Cherokee, Armenian, Lisu, Carian, Latin small
/// capitals, Roman numerals, ı, İ, ſ), plus the letterlike forms that NFKC would otherwise turn into something else
/// (U+03F9 GREEK CAPITAL LUNATE SIGMA looks like C, but NFKC makes it Σ; hence the fold runs before NFKC).
/// ASCII substitutions (3 for E, 1 or l for I) are deliberately NOT folded: <c>S3CRET</c> names no label and so
/// counts as the highest.
/// </summary>
internal static class LookAlikes
{
    private static readonly FrozenDictionary<int, char> Map = Build();

    /// <summary>The ASCII letter <paramref name="codePoint"/> looks like, or the code point itself.</summary>
    public static int Fold(int codePoint) => codePoint >= 0x80 && Map.TryGetValue(codePoint, out var ascii) ? ascii : codePoint;

    private static FrozenDictionary<int, char> Build()
    {
        var map = new Dictionary<int, char>();
        void Add(char ascii, string lookAlikes)
        {
            foreach (var rune in lookAlikes.EnumerateRunes())
            {
                map[rune.Value] = ascii;
            }
        }

        // The standard's table, letter by letter.
        Add('A', "АΑᎪᗅꓮ𐊠ᴀ");
        Add('a', "аɑα");
        Add('B', "ВΒᏴꓐʙ");
        Add('C', "СϹᏟⅭꓚ𐊢ᴄ");
        Add('c', "сϲⅽ");
        Add('D', "ᎠⅮꓓᴅ");
        Add('d', "ԁⅾ");
        Add('E', "ЕΕᎬꓰᴇ");
        Add('e', "еҽ");
        Add('F', "Ϝꓝᖴϝғꜰ");
        Add('G', "ԌᏀɢ");
        Add('H', "НΗᎻꓧʜн");
        Add('I', "ІΙӀⅠꓲİɪ");
        Add('i', "іιıⅰ");
        Add('J', "ЈᎫꓙᴊ");
        Add('K', "КΚᏦꓗᴋк");
        Add('L', "ᏞⅬꓡʟ");
        Add('l', "ⅼӏ");
        Add('M', "МΜᎷⅯꓟᴍм");
        Add('N', "ΝꓠɴⲚ");
        Add('n', "ո");
        Add('O', "ОΟꓳᴏՕ");
        Add('o', "оοօ");
        Add('P', "РΡᏢꓑᴘ");
        Add('p', "рρ");
        Add('R', "ᎡꓣʀƦ");
        Add('r', "г");
        Add('S', "ЅᏚꓢꜱՏſ");
        Add('s', "ѕ");
        Add('T', "ТΤᎢꓔᴛт");
        Add('U', "ՍꓴᴜԱ");
        Add('u', "սυ");
        Add('V', "ᏙⅤꓦᴠ");
        Add('v', "νⅴ");
        Add('W', "ԜᏔꓪᴡ");
        Add('X', "ХΧⅩꓫ");
        Add('x', "хⅹ");
        Add('Y', "ҮΥꓬʏ");
        Add('y', "уү");
        Add('Z', "ΖᏃꓜᴢ");
        Add('I', "\uA7AE"); // LATIN CAPITAL LETTER SMALL CAPITAL I

        // Cherokee has lower-case partners (U+AB70–U+ABBF for U+13A0–U+13EF) drawn like the capitals: fold them alike.
        foreach (var (codePoint, ascii) in map.Where(p => p.Key is >= 0x13A0 and <= 0x13EF).ToList())
        {
            map[codePoint - 0x13A0 + 0xAB70] = ascii;
        }

        return map.ToFrozenDictionary();
    }
}
