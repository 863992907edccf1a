using System.Text;

namespace Bridge.Core.Policy.Labels;

/// <summary>The label an event carries and the rule of the classification standard that decided it (<see cref="LabelRules"/>).</summary>
public readonly record struct LabelDecision(int Rank, string Rule);

/// <summary>
/// The classification standard (docs/policy.md, "Labels and markers") for one label order: reads structured values
/// (R-S1), markers in texts and HTML (R-L1 … R-L8, through <see cref="MarkerReader"/>), and combines them by
/// precedence (R-P1, R-L5): <c>label = max(structured, or else the strongest strong marker, or else the default;
/// every weak marker)</c>. Strong markers may lower a label below the source's default; weak ones only raise.
/// Thread-safe and immutable.
/// </summary>
public sealed class LabelClassifier
{
    private readonly LabelKeys _keys;
    private readonly MarkerReader _reader;

    internal LabelClassifier(LabelOrder labels)
    {
        Labels = labels;
        _keys = new LabelKeys(labels.Names);
        _reader = new MarkerReader(_keys);
    }

    public LabelOrder Labels { get; }

    /// <summary>
    /// R-S1: a structured value is canonicalised (R-C1, R-C2) and must then equal a known label (R-C3); anything else,
    /// <c>""</c>, <c>"null"</c>, <see cref="Model.StructuredLabel.NotAString"/> included, is the highest.
    /// </summary>
    public int RankOfStructured(string? value) =>
        value is not null && _keys.RankOfToken(Canonicaliser.Canonical(value)) is { } rank ? rank : Labels.Highest;

    /// <summary>
    /// The label of one event part set: its structured values (may be empty), the texts and HTML bodies a reader sees
    /// (message text, caption, file names (R-K5), a reaction key (R-K4)), and the source's default rank.
    /// </summary>
    public LabelDecision Classify(IReadOnlyList<string> structured, IEnumerable<string?> texts, IEnumerable<string?> htmls, int defaultRank)
    {
        var hits = new List<MarkerHit>();
        foreach (var text in texts)
        {
            if (!string.IsNullOrEmpty(text))
            {
                _reader.Read(CanonicalText.From(text), hits);
            }
        }

        foreach (var html in htmls)
        {
            if (!string.IsNullOrEmpty(html))
            {
                _reader.Read(CanonicalText.From(HtmlVisibleText.Of(html)), hits);
            }
        }

        return Combine(structured, hits, defaultRank);
    }

    /// <summary>
    /// Whether a strong token naming exactly <paramref name="rank"/> (R-L3, known content) shows the label in the text,
    /// and no marker of the text is above it: then the delivered text needs no visible label added.
    /// </summary>
    internal bool ShowsStrongly(string text, bool isHtml, int rank)
    {
        var hits = new List<MarkerHit>();
        _reader.Read(CanonicalText.From(isHtml ? HtmlVisibleText.Of(text) : text), hits);
        return hits.Exists(h => h.Strong && h.Known && h.Rank == rank && h.Rule == LabelRules.Strong) && hits.TrueForAll(h => h.Rank <= rank);
    }

    /// <summary>
    /// R-K6: a display name or nick without markers: bracket tokens anywhere (with any content, and an unclosed one to
    /// the end), stray closing brackets, parentheses holding a label word, and a leading bare label word (R-L5 c) are
    /// removed. The display name never labels a message; this only keeps puppets' names from showing a marker.
    /// </summary>
    public string StripMarkers(string displayName)
    {
        ArgumentNullException.ThrowIfNull(displayName);
        var canonical = CanonicalText.From(displayName);
        var s = canonical.Text;
        var cut = new List<(int Start, int End)>();
        // The next ')' and the next label word at or after a position, for positions that only grow: each found by
        // one pass over the text in all, so a name of many '(' before one far ')' costs neither a copy nor a scan per '('.
        var paren = new ForwardSearch(from => s.IndexOf(')', from));
        var word = new ForwardSearch(from =>
        {
            for (var p = from; p < s.Length; p++)
            {
                if (_keys.LabelWordStartsAt(s, p))
                {
                    return p;
                }
            }

            return -1;
        });
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (MarkerReader.IsOpenBracket(c))
            {
                var close = i + 1;
                while (close < s.Length && !MarkerReader.IsCloseBracket(s[close]))
                {
                    close++;
                }

                cut.Add((i, Math.Min(close + 1, s.Length)));
                i = close;
            }
            else if (MarkerReader.IsCloseBracket(c))
            {
                cut.Add((i, i + 1));
            }
            else if (c == '(' && paren.FirstAtOrAfter(i + 1) is var end && end > 0 && word.FirstAtOrAfter(i + 1) is var w && w >= 0 && w < end)
            {
                cut.Add((i, end + 1));
                i = end;
            }
        }

        // A leading bare label word (R-L5 c) and label words followed by a closing parenthesis or slash.
        var hits = new List<MarkerHit>();
        _reader.Read(canonical, hits);
        foreach (var hit in hits)
        {
            cut.Add((hit.Start, hit.End));
        }

        if (cut.Count == 0)
        {
            return displayName;
        }

        var keep = new bool[displayName.Length];
        Array.Fill(keep, true);
        foreach (var (start, end) in cut)
        {
            var (from, to) = canonical.OriginOf(start, Math.Min(end, s.Length));
            for (var k = from; k < to; k++)
            {
                keep[k] = false;
            }
        }

        var sb = new StringBuilder(displayName.Length);
        for (var k = 0; k < displayName.Length; k++)
        {
            if (keep[k])
            {
                sb.Append(displayName[k]);
            }
        }

        var stripped = LabelKeys.CollapseSpaces(sb.ToString()).Trim(' ', ':', '-', '/', '|', '–', '—', '_', '.', ',');
        return stripped;
    }

    /// <summary>
    /// Where the markers of <paramref name="text"/> are, as (start, end) ranges of the text itself (not its canonical
    /// form), in order: what a translation must carry over verbatim.
    /// </summary>
    public IReadOnlyList<(int Start, int End)> MarkerSpans(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var canonical = CanonicalText.From(text);
        var hits = new List<MarkerHit>();
        _reader.Read(canonical, hits);
        return hits
            .Select(h => canonical.OriginOf(h.Start, Math.Min(h.End, canonical.Length)))
            .Where(r => r.End > r.Start)
            .OrderBy(r => r.Start)
            .ToList();
    }

    /// <summary>The first match at or after a position, for positions that never decrease: a match found is kept until passed.</summary>
    private sealed class ForwardSearch(Func<int, int> search)
    {
        private int _searchedFrom = -1;
        private int _found = -1;

        public int FirstAtOrAfter(int from)
        {
            if (_searchedFrom >= 0 && from >= _searchedFrom && (_found < 0 || from <= _found))
            {
                return _found;
            }

            _searchedFrom = from;
            _found = search(from);
            return _found;
        }
    }

    private LabelDecision Combine(IReadOnlyList<string> structured, List<MarkerHit> hits, int defaultRank)
    {
        var candidates = new List<LabelDecision>();
        var baseRank = -1;
        for (var i = 0; i < structured.Count; i++)
        {
            var rank = RankOfStructured(structured[i]);
            baseRank = Math.Max(baseRank, rank);
            candidates.Add(new LabelDecision(rank, LabelRules.Structured));
        }

        var strong = -1;
        var weak = -1;
        foreach (var hit in hits)
        {
            candidates.Add(new LabelDecision(hit.Rank, hit.Rule));
            if (hit.Strong)
            {
                strong = Math.Max(strong, hit.Rank);
            }
            else
            {
                weak = Math.Max(weak, hit.Rank);
            }
        }

        // R-P1: a structured field replaces the default and markers may only raise it; R-L3: without one, a strong
        // marker sets the label (and may lower it below the default); R-L5: weak markers only raise.
        if (baseRank >= 0)
        {
            baseRank = Math.Max(baseRank, strong);
        }
        else if (strong >= 0)
        {
            baseRank = strong;
        }
        else
        {
            baseRank = defaultRank;
            candidates.Add(new LabelDecision(defaultRank, LabelRules.Default));
        }

        var final = Math.Max(baseRank, weak);
        var rule = LabelRules.Default;
        var best = int.MaxValue;
        foreach (var candidate in candidates)
        {
            if (candidate.Rank == final && LabelRules.Order(candidate.Rule) < best)
            {
                best = LabelRules.Order(candidate.Rule);
                rule = candidate.Rule;
            }
        }

        return new LabelDecision(final, rule);
    }
}
