using System.Text.RegularExpressions;

namespace Bridge.Core.Translation;

/// <summary>Language codes as configured (BCP 47 primary tag, optional region) and as Apertium names them (ISO 639-3).</summary>
public static partial class LanguageCode
{
    [GeneratedRegex("^[a-z]{2,3}(-[a-z0-9]{2,8})?$")]
    private static partial Regex Pattern();

    // ISO 639-1 to the ISO 639-3 codes Apertium's pair names use; three-letter codes pass through.
    private static readonly Dictionary<string, string> ThreeLetter = new(StringComparer.Ordinal)
    {
        ["en"] = "eng", ["es"] = "spa", ["fr"] = "fra", ["de"] = "deu", ["it"] = "ita", ["pt"] = "por", ["ca"] = "cat",
        ["gl"] = "glg", ["eu"] = "eus", ["oc"] = "oci", ["ro"] = "ron", ["nl"] = "nld", ["af"] = "afr", ["nb"] = "nob",
        ["nn"] = "nno", ["da"] = "dan", ["sv"] = "swe", ["is"] = "isl", ["pl"] = "pol", ["cs"] = "ces", ["sk"] = "slk",
        ["uk"] = "ukr", ["ru"] = "rus", ["bg"] = "bul", ["mk"] = "mkd", ["sr"] = "srp", ["hr"] = "hbs", ["bs"] = "hbs",
        ["sl"] = "slv", ["el"] = "ell", ["tr"] = "tur", ["ar"] = "ara", ["he"] = "heb", ["mt"] = "mlt", ["cy"] = "cym",
        ["br"] = "bre", ["ga"] = "gle", ["kk"] = "kaz", ["tt"] = "tat", ["id"] = "ind", ["ms"] = "msa", ["eo"] = "epo",
    };

    /// <summary>Lower-cases and checks a configured code (<c>ES</c>, <c>pt_BR</c> become <c>es</c>, <c>pt-br</c>).</summary>
    public static bool TryNormalise(string? value, out string code)
    {
        code = (value ?? "").Trim().Replace('_', '-').ToLowerInvariant();
        return Pattern().IsMatch(code);
    }

    /// <summary>The primary language (<c>pt-br</c> → <c>pt</c>): two endpoints with the same one need no translation.</summary>
    public static string Primary(string code) => code.Split('-')[0];

    /// <summary>Apertium's name for a language (<c>en</c> → <c>eng</c>); a region is dropped (<c>en_US</c> modes are not chosen).</summary>
    public static string Apertium(string code)
    {
        var primary = Primary(code);
        return ThreeLetter.TryGetValue(primary, out var three) ? three : primary;
    }
}
