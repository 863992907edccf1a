using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Bridge.Core.Policy.Labels;

namespace Bridge.Core.Translation;

/// <summary>
/// Keeps what a translation must never touch out of the engine's reach: classification markers (the classifier's own
/// marker reader, plus every bracket token and <c>A//B</c> banner), mentions, links, room and user ids, emoji short
/// codes and code. Each becomes a placeholder <c>⟦n⟧</c> before translating; after, every placeholder must come back
/// exactly once, the markers in their order, a leading marker still leading, and the label read from the translation
/// the same as from the original. Anything else and the original is delivered instead.
/// </summary>
internal static partial class MarkerGuard
{
    public const char Open = '⟦';
    public const char Close = '⟧';

    // Order matters only for readability: overlapping spans are merged.
    [GeneratedRegex(@"```[\s\S]*?(```|$)|`[^`\n]+`", RegexOptions.CultureInvariant)]
    private static partial Regex Code();

    [GeneratedRegex(@"\b(?:https?|ftp|mailto|xmpp|matrix|mxc):[^\s<>""]+|\]\([^)\s]+\)|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b", RegexOptions.CultureInvariant)]
    private static partial Regex Links();

    [GeneratedRegex(@"(?<![\w@])[@#!+][\w.=\-/]+(?::[\w.\-]+(?::\d+)?)?|:[a-z0-9_+\-]+:", RegexOptions.CultureInvariant)]
    private static partial Regex Mentions();

    [GeneratedRegex(@"[\[⟦【〔〖〘⁅❲][^\[\]\n]{0,120}[\]⟧】〕〗〙⁆❳]|\(\s*[A-Z][A-Z/ ]{0,40}\)|\b[A-Z][A-Z0-9\-]*(?:[ ][A-Z0-9\-]+)*(?://[A-Z0-9][A-Z0-9 ,\-]*)+", RegexOptions.CultureInvariant)]
    private static partial Regex MarkerShapes();

    [GeneratedRegex(@"⟦(\d{1,4})⟧", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    /// <summary>The text with placeholders, what each stands for, and which of them are markers.</summary>
    public sealed record Protected(string Text, IReadOnlyList<string> Spans, IReadOnlyList<int> MarkerIndexes, bool LeadsWithMarker)
    {
        /// <summary>True when nothing but placeholders and spaces is left to translate.</summary>
        public bool NothingToTranslate => Placeholder().Replace(Text, "").Trim().Length == 0;
    }

    /// <summary>Protects <paramref name="text"/>; null when it cannot be done safely (the text already holds ⟦ or ⟧).</summary>
    public static Protected? Protect(string text, LabelClassifier? classifier)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Contains(Open, StringComparison.Ordinal) || text.Contains(Close, StringComparison.Ordinal))
        {
            return null;
        }

        var spans = new List<(int Start, int End, bool Marker)>();
        foreach (Match m in Code().Matches(text))
        {
            spans.Add((m.Index, m.Index + m.Length, false));
        }

        foreach (Match m in Links().Matches(text))
        {
            spans.Add((m.Index, m.Index + m.Length, false));
        }

        foreach (Match m in Mentions().Matches(text))
        {
            spans.Add((m.Index, m.Index + m.Length, false));
        }

        foreach (Match m in MarkerShapes().Matches(text))
        {
            spans.Add((m.Index, m.Index + m.Length, true));
        }

        if (classifier is not null)
        {
            foreach (var (start, end) in classifier.MarkerSpans(text))
            {
                spans.Add((start, end, true));
            }
        }

        var merged = Merge(spans);
        var sb = new StringBuilder(text.Length);
        var parts = new List<string>();
        var markers = new List<int>();
        var at = 0;
        foreach (var (start, end, marker) in merged)
        {
            sb.Append(text, at, start - at);
            if (marker)
            {
                markers.Add(parts.Count);
            }

            sb.Append(Open).Append(parts.Count.ToString(CultureInfo.InvariantCulture)).Append(Close);
            parts.Add(text[start..end]);
            at = end;
        }

        sb.Append(text, at, text.Length - at);
        var protectedText = sb.ToString();
        var leads = merged.Count > 0 && merged[0].Marker && text[..merged[0].Start].Trim().Length == 0;
        return new Protected(protectedText, parts, markers, leads);
    }

    /// <summary>
    /// The translation with the protected spans put back, or null with a reason when it must not be delivered: a
    /// placeholder lost, doubled or invented, a marker moved out of order or off the start.
    /// </summary>
    public static string? Restore(Protected source, string translated, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(translated);
        problem = null;
        var seen = new int[source.Spans.Count];
        var order = new List<int>();
        foreach (Match m in Placeholder().Matches(translated))
        {
            if (!int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n >= seen.Length)
            {
                problem = $"the engine invented placeholder {m.Value}";
                return null;
            }

            seen[n]++;
            order.Add(n);
        }

        for (var i = 0; i < seen.Length; i++)
        {
            if (seen[i] != 1)
            {
                problem = source.MarkerIndexes.Contains(i)
                    ? $"a marker did not survive translation ({(seen[i] == 0 ? "lost" : "repeated")})"
                    : $"a protected span did not survive translation ({(seen[i] == 0 ? "lost" : "repeated")})";
                return null;
            }
        }

        if (translated.Contains(Open, StringComparison.Ordinal) && Placeholder().Replace(translated, "").Contains(Open, StringComparison.Ordinal))
        {
            problem = "the engine left a broken placeholder";
            return null;
        }

        var markerOrder = order.Where(source.MarkerIndexes.Contains).ToList();
        if (!markerOrder.SequenceEqual(source.MarkerIndexes))
        {
            problem = "the markers changed order in translation";
            return null;
        }

        if (source.LeadsWithMarker && !translated.TrimStart().StartsWith($"{Open}{source.MarkerIndexes[0].ToString(CultureInfo.InvariantCulture)}{Close}", StringComparison.Ordinal))
        {
            problem = "the leading marker moved in translation";
            return null;
        }

        return Placeholder().Replace(translated, m => source.Spans[int.Parse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture)]);
    }

    private static List<(int Start, int End, bool Marker)> Merge(List<(int Start, int End, bool Marker)> spans)
    {
        var merged = new List<(int Start, int End, bool Marker)>();
        foreach (var span in spans.Where(s => s.End > s.Start).OrderBy(s => s.Start).ThenByDescending(s => s.End))
        {
            if (merged.Count > 0 && span.Start < merged[^1].End)
            {
                var last = merged[^1];
                merged[^1] = (last.Start, Math.Max(last.End, span.End), last.Marker || span.Marker);
            }
            else
            {
                merged.Add(span);
            }
        }

        return merged;
    }
}
