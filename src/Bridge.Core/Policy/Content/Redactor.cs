using System.Text.RegularExpressions;
using Bridge.Core.Policy.Labels;

namespace Bridge.Core.Policy.Content;

/// <summary>One redaction pattern: its public name, the compiled expression and the replacement.</summary>
internal sealed record Redaction(string Name, Regex Regex, string Replacement);

/// <summary>
/// Applies redaction patterns, then checks the folded text (look-alikes and invisible characters removed): a match that
/// only appears after folding was disguised, so the event is blocked rather than delivered with the secret in it.
/// </summary>
internal sealed class Redactor
{
    private readonly Redaction[] _redactions;

    public Redactor(Redaction[] redactions) => _redactions = redactions;

    public bool IsEmpty => _redactions.Length == 0;

    public IReadOnlyList<Redaction> Redactions => _redactions;

    /// <summary>Applies every pattern; <paramref name="applied"/> names the first that changed something.</summary>
    public string Apply(string text, out string? applied, out bool disguised)
    {
        applied = null;
        foreach (var r in _redactions)
        {
            if (r.Regex.IsMatch(text))
            {
                text = r.Regex.Replace(text, r.Replacement);
                applied ??= r.Name;
            }
        }

        disguised = false;
        if (!TextFold.IsPlainAscii(text))
        {
            var folded = TextFold.Fold(text);
            foreach (var r in _redactions)
            {
                if (r.Regex.IsMatch(folded))
                {
                    disguised = true;
                    applied ??= r.Name;
                    break;
                }
            }
        }

        return text;
    }

    /// <summary>The name of the first pattern that matches the text as written or folded, or null.</summary>
    public string? FirstMatch(string text)
    {
        var folded = TextFold.Fold(text);
        foreach (var r in _redactions)
        {
            if (r.Regex.IsMatch(text) || r.Regex.IsMatch(folded))
            {
                return r.Name;
            }
        }

        return null;
    }

    /// <summary>True when any pattern matches the text as written or folded.</summary>
    public bool Matches(string text)
    {
        var folded = TextFold.Fold(text);
        foreach (var r in _redactions)
        {
            if (r.Regex.IsMatch(text) || r.Regex.IsMatch(folded))
            {
                return true;
            }
        }

        return false;
    }
}
