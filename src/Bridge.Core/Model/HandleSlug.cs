using System.Globalization;
using System.Text;

namespace Bridge.Core.Model;

/// <summary>
/// A name folded to what every network's identifiers allow: lower-case a-z, 0-9 and single separators (<c>.</c>,
/// <c>-</c>, <c>_</c>), accents dropped (é becomes e), anything else one '_'. The readable part of puppet names.
/// </summary>
public static class HandleSlug
{
    private static string Fold(char c) => c switch
    {
        'à' or 'á' or 'â' or 'ã' or 'ä' or 'å' or 'ā' => "a",
        'ç' or 'ć' or 'č' => "c",
        'è' or 'é' or 'ê' or 'ë' or 'ē' or 'ę' or 'ě' => "e",
        'ì' or 'í' or 'î' or 'ï' or 'ī' => "i",
        'ñ' or 'ń' or 'ň' => "n",
        'ò' or 'ó' or 'ô' or 'õ' or 'ö' or 'ø' or 'ō' or 'ő' => "o",
        'ù' or 'ú' or 'û' or 'ü' or 'ū' or 'ů' or 'ű' => "u",
        'ý' or 'ÿ' => "y",
        'š' or 'ś' => "s",
        'ž' or 'ź' or 'ż' => "z",
        'ł' => "l",
        'ř' => "r",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        _ => c.ToString(),
    };

    public static string Of(string text)
    {
        var sb = new StringBuilder();
        // Drop accents (é -> e) so names stay readable, then map anything else to '_' without repeats.
        foreach (var original in text.Normalize(NormalizationForm.FormD).ToLowerInvariant())
        {
            if (CharUnicodeInfo.GetUnicodeCategory(original) == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }
            // Invariant globalization may leave precomposed letters: fold the common Latin ones by hand.
            var folded = Fold(original);
            if (folded.Length > 1)
            {
                sb.Append(folded);
                continue;
            }
            var ch = folded[0];
            var c = char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch is '.' or '-' or '_' ? ch : '_';
            if ((c is '_' or '.' or '-') && (sb.Length == 0 || sb[^1] is '_' or '.' or '-'))
            {
                continue;
            }
            sb.Append(c);
        }
        return sb.ToString().Trim('_', '.', '-');
    }
}
