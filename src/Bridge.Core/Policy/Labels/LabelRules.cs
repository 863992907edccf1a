namespace Bridge.Core.Policy.Labels;

/// <summary>
/// The ids of the classification standard's rules that can decide a label, as reported in
/// <see cref="PolicyDecision.LabelRule"/>. When several contributions give the final label, the first in
/// <see cref="Precedence"/> is reported.
/// </summary>
public static class LabelRules
{
    /// <summary>A structured field (Mattermost props, Matrix content key, XEP-0258).</summary>
    public const string Structured = "R-S1";

    /// <summary>A malformed marker: unclosed bracket, leading closing bracket, <c>CUI]</c>, <c>CUI)</c>.</summary>
    public const string Malformed = "R-L7";

    /// <summary>A strong bracket token at the start, known or unknown content.</summary>
    public const string Strong = "R-L3";

    /// <summary>A marker reached through quoting (<c>&gt;</c>, quotation marks, <c>Re:</c>/<c>Fwd:</c>/<c>Fw:</c>).</summary>
    public const string Quoted = "R-L2";

    /// <summary>A parenthesised or bare-word weak form.</summary>
    public const string Weak = "R-L5";

    /// <summary>A known bracket token at the start of a later line.</summary>
    public const string LaterLine = "R-L6";

    /// <summary>The source network's default label.</summary>
    public const string Default = "default";

    public static IReadOnlyList<string> Precedence { get; } = [Structured, Malformed, Strong, Quoted, Weak, LaterLine, Default];

    internal static int Order(string rule) => rule switch
    {
        Structured => 0,
        Malformed => 1,
        Strong => 2,
        Quoted => 3,
        Weak => 4,
        LaterLine => 5,
        _ => 6,
    };
}

/// <summary>
/// One marker found in a text: its rank, the rule that found it, whether it is strong (sets the label, may lower it
/// below the default: R-L3, R-L7) or weak (raise-only: R-L2, R-L5, R-L6), its span in the canonical text, and whether
/// it names a known label (false for unknown token contents and malformed shapes, which rank highest).
/// </summary>
internal readonly record struct MarkerHit(int Rank, string Rule, bool Strong, int Start, int End, bool Known = true);
