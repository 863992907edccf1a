using System.Globalization;
using System.Text;

namespace Bridge.Xmpp.Muc;

/// <summary>
/// What a reader cannot tell apart in a nick: case, accents, spaces and punctuation, and the digits that pass for
/// letters (0/o, 1/l/i). Two nicks with the same skeleton are confusable, so a puppet never takes one that a real
/// person of the room uses.
/// </summary>
internal static class NickSkeleton
{
    public static string Of(string nick)
    {
        var sb = new StringBuilder(nick.Length);
        foreach (var c in nick.Normalize(NormalizationForm.FormD).ToLowerInvariant())
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.Format || char.IsWhiteSpace(c) || char.IsPunctuation(c) || char.IsSymbol(c))
            {
                continue;
            }

            sb.Append(c switch { '0' => 'o', '1' or 'i' => 'l', _ => c });
        }

        return sb.ToString();
    }
}
