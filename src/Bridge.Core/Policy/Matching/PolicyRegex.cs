using System.Text.RegularExpressions;

namespace Bridge.Core.Policy.Matching;

/// <summary>
/// Builds operator-supplied regular expressions once, at compile time of a policy. The non-backtracking engine runs
/// in linear time, so no message can make a pattern hang (ReDoS); patterns that need backtracking features
/// (look-arounds, back-references) fall back to the compiled backtracking engine with a match timeout, and a timeout
/// makes the router block the event (fail closed).
/// </summary>
internal static class PolicyRegex
{
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(250);

    public static Regex Create(string pattern, RegexOptions extra = RegexOptions.None)
    {
        var options = RegexOptions.CultureInvariant | extra;
        try
        {
            return new Regex(pattern, options | RegexOptions.NonBacktracking, MatchTimeout);
        }
        catch (NotSupportedException)
        {
            return new Regex(pattern, options | RegexOptions.Compiled, MatchTimeout);
        }
    }

    /// <summary>Null when the pattern is valid, else the parser's message.</summary>
    public static string? Check(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant, MatchTimeout);
            return null;
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }
    }
}
