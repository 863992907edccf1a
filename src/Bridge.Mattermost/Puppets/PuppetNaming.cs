using System.Globalization;
using System.Text;

namespace Bridge.Mattermost.Puppets;

/// <summary>
/// Puppet usernames that satisfy both the server (1–64 of [a-z0-9._-], not reserved) and the webapp's stricter sign-up
/// rule (3–22 chars, starting with a letter, not ending with '.'), so that every client shows and mentions them.
/// </summary>
internal static class PuppetNaming
{
    public const int MaxLength = 22;
    private static readonly HashSet<string> Reserved = ["all", "channel", "here", "matterbot", "system"];

    public static string BaseName(string prefix, string displayName, string userId)
    {
        var source = Sanitize(displayName);
        if (source.Length < 2)
        {
            source = Sanitize(userId);
        }
        var name = prefix.ToLowerInvariant() + source;
        if (name.Length == 0 || !char.IsAsciiLetterLower(name[0]))
        {
            name = "u" + name;
        }
        while (name.Length < 3)
        {
            name += "x";
        }
        name = name.Length > MaxLength ? name[..MaxLength] : name;
        name = name.TrimEnd('.', '-', '_');
        return Reserved.Contains(name) ? name + "1" : name;
    }

    /// <summary>The n-th alternative for a taken name: the base cut short enough to hold "-n".</summary>
    public static string Candidate(string baseName, int attempt)
    {
        if (attempt == 0)
        {
            return baseName;
        }
        var suffix = "-" + attempt.ToString(CultureInfo.InvariantCulture);
        var head = baseName.Length + suffix.Length > MaxLength ? baseName[..(MaxLength - suffix.Length)] : baseName;
        return head.TrimEnd('.', '-', '_') + suffix;
    }

    public static bool IsValid(string name) =>
        name.Length is >= 3 and <= MaxLength && char.IsAsciiLetterLower(name[0]) && name[^1] != '.' && !Reserved.Contains(name)
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-' or '_');

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

    private static string Sanitize(string text)
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
