using System.Buffers;
using System.Collections.Frozen;

namespace Bridge.Core.Policy.Labels;

/// <summary>
/// The operator's ordered classification labels, lowest first (e.g. UNCLASSIFIED &lt; CUI &lt; SECRET).
/// Ranks are indexes into <see cref="Names"/>; anything that does not fold to a known label ranks highest.
/// </summary>
public sealed class LabelOrder
{
    private static readonly SearchValues<char> Forbidden = SearchValues.Create("[]()\r\n");

    private readonly FrozenDictionary<string, int> _exact;
    private readonly FrozenDictionary<string, int> _folded;

    private LabelOrder(IReadOnlyList<string> names)
    {
        Names = names;
        _exact = names.Select((n, i) => (n, i)).ToFrozenDictionary(p => p.n, p => p.i, StringComparer.OrdinalIgnoreCase);
        _folded = names.Select((n, i) => (TextFold.FoldLabel(n), i)).ToFrozenDictionary(p => p.Item1, p => p.i, StringComparer.Ordinal);
        Classifier = new LabelClassifier(this);
    }

    /// <summary>The classification standard's reader for these labels (markers, structured values, precedence).</summary>
    public LabelClassifier Classifier { get; }

    /// <summary>No classification configured: nothing is labelled and clearances are not checked.</summary>
    public static LabelOrder None { get; } = new([]);

    /// <summary>The canonical names, lowest first.</summary>
    public IReadOnlyList<string> Names { get; }

    public bool IsEnabled => Names.Count > 0;

    public int Lowest => 0;

    public int Highest => Names.Count - 1;

    /// <summary>Builds an order; the caller has validated that the names are distinct after folding (<see cref="Validate"/>).</summary>
    internal static LabelOrder Create(IReadOnlyList<string> names) => names.Count == 0 ? None : new LabelOrder(names.ToArray());

    /// <summary>Problems with a proposed list of labels, each with the index it concerns.</summary>
    internal static IEnumerable<(int Index, string Message)> Validate(IReadOnlyList<string> names)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            var folded = TextFold.FoldLabel(name);
            if (folded.Length == 0)
            {
                yield return (i, "a label must not be empty");
                continue;
            }

            if (!string.Equals(folded, name.Trim().ToUpperInvariant(), StringComparison.Ordinal))
            {
                yield return (i, $"label '{name}' holds look-alike or invisible characters; write it in plain letters");
                continue;
            }

            if (name.AsSpan().ContainsAny(Forbidden))
            {
                yield return (i, $"label '{name}' must not contain brackets or line breaks");
                continue;
            }

            if (!seen.TryAdd(folded, i))
            {
                yield return (i, $"label '{name}' is the same as label {seen[folded]} (labels compare without case)");
            }
        }
    }

    /// <summary>The rank of a label as written anywhere (a structured field, a marker's text, a configured clearance); null when unknown.</summary>
    public int? TryRank(ReadOnlySpan<char> label)
    {
        if (Names.Count == 0)
        {
            return null;
        }

        // Fast path without allocation: the label as configured, in any case.
        var lookup = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(label.Trim(), out var rank))
        {
            return rank;
        }

        var folded = TextFold.FoldLabel(label);
        return _folded.TryGetValue(folded, out rank) ? rank : null;
    }

    /// <summary>The rank of a label an event carries: unknown or malformed counts as the highest (fail closed).</summary>
    public int RankCarried(ReadOnlySpan<char> label) => TryRank(label) ?? Highest;
}
