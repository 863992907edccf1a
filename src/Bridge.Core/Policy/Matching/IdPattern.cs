using System.Text;
using System.Text.RegularExpressions;

namespace Bridge.Core.Policy.Matching;

/// <summary>
/// One entry of an allow or deny list: an exact id, a glob (<c>*</c> any run, <c>?</c> one character) or a regular
/// expression written <c>re:PATTERN</c> (matched against the whole id). Matching ignores case.
/// </summary>
internal sealed class IdPattern
{
    private readonly string? _exact;
    private readonly Regex? _regex;

    private IdPattern(string text, string? exact, Regex? regex)
    {
        Text = text;
        _exact = exact;
        _regex = regex;
    }

    public string Text { get; }

    /// <summary>Parses an entry; returns an error message instead when it is not usable.</summary>
    public static IdPattern? TryParse(string text, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "an empty pattern matches nothing; remove it";
            return null;
        }

        if (text.StartsWith("re:", StringComparison.Ordinal))
        {
            var body = text[3..];
            error = PolicyRegex.Check(body);
            return error is null ? new IdPattern(text, null, PolicyRegex.Create($"^(?:{body})$", RegexOptions.IgnoreCase)) : null;
        }

        if (text.AsSpan().IndexOfAny('*', '?') >= 0)
        {
            return new IdPattern(text, null, PolicyRegex.Create(GlobToRegex(text), RegexOptions.IgnoreCase));
        }

        return new IdPattern(text, text, null);
    }

    public bool IsMatch(string value) =>
        _exact is not null ? string.Equals(_exact, value, StringComparison.OrdinalIgnoreCase) : _regex!.IsMatch(value);

    internal static string GlobToRegex(string glob)
    {
        var sb = new StringBuilder("^");
        foreach (var c in glob)
        {
            sb.Append(c switch
            {
                '*' => ".*",
                '?' => ".",
                _ => Regex.Escape(c.ToString()),
            });
        }

        return sb.Append('$').ToString();
    }
}

/// <summary>A list of <see cref="IdPattern"/>; empty means "no constraint" for allow lists and "nothing" for deny lists.</summary>
internal sealed class IdPatternList
{
    public static readonly IdPatternList Empty = new([]);

    private readonly IdPattern[] _patterns;

    public IdPatternList(IdPattern[] patterns)
    {
        _patterns = patterns;
        HasQualified = patterns.Any(p => p.Text.Contains('/', StringComparison.Ordinal));
    }

    /// <summary>True when some entry is written "network/user" (contains '/'): only then is that form built and matched.</summary>
    public bool HasQualified { get; }

    public bool IsEmpty => _patterns.Length == 0;

    public bool Matches(string? value)
    {
        if (value is null)
        {
            return false;
        }

        foreach (var p in _patterns)
        {
            if (p.IsMatch(value))
            {
                return true;
            }
        }

        return false;
    }
}
