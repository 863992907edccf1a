using System.Globalization;
using System.Text;

namespace Bridge.Core.Policy.Labels;

/// <summary>
/// Finds the markers in one canonical text (<see cref="CanonicalText"/>), rule by rule: the leading region (R-L1),
/// quoting (R-L2), strong bracket tokens (R-L3) and several of them (R-L4), weak forms (R-L5), later lines (R-L6) and
/// malformed shapes (R-L7). Escapes (R-L8) and the canonical form (R-C1) are already applied by <see cref="CanonicalText"/>.
/// </summary>
internal sealed class MarkerReader
{
    /// <summary>R-L3: the opening brackets of a token (after NFKC, fullwidth and vertical forms are among these).</summary>
    private const string OpenBrackets = "[⟦【〔〖〘⁅❲";

    /// <summary>R-L3: a token ends at the first of these.</summary>
    private const string CloseBrackets = "]⟧】〕〗〙⁆❳";

    /// <summary>R-L2: quotation marks (canonical forms; every other initial/final quote punctuation counts too).</summary>
    private const string QuoteMarks = "\"'“”„‘’«»‹›「」『』‚‛‟〝〞〟";

    /// <summary>R-L2: reply prefixes, canonical (case-folded).</summary>
    private static readonly string[] ReplyPrefixes = ["re:", "fwd:", "fw:"];

    /// <summary>Longer than any tag a person writes; a '&lt;' without a '&gt;' this near is a symbol, not a tag.</summary>
    private const int MaxTagLength = 1024;

    private readonly LabelKeys _labels;

    public MarkerReader(LabelKeys labels) => _labels = labels;

    public static bool IsOpenBracket(char c) => OpenBrackets.Contains(c, StringComparison.Ordinal);

    public static bool IsCloseBracket(char c) => CloseBrackets.Contains(c, StringComparison.Ordinal);

    /// <summary>Every marker of <paramref name="text"/>, in the order found.</summary>
    public void Read(CanonicalText text, List<MarkerHit> hits)
    {
        var s = text.Text;
        var end = ReadLeadingRegion(s, hits);
        // R-L6: lines after the one where the leading region ended.
        var line = s.IndexOf('\n', Math.Min(end, s.Length));
        var closes = new CloseBracketCursor(s);
        while (line >= 0 && line + 1 < s.Length)
        {
            ReadLaterLine(s, line + 1, ref closes, hits);
            line = s.IndexOf('\n', line + 1);
        }
    }

    /// <summary>R-L1 to R-L5 and R-L7 at the start of the text; returns where the leading region ended.</summary>
    private int ReadLeadingRegion(string s, List<MarkerHit> hits)
    {
        var quoted = false;      // R-L2: a marker after quoting is weak
        var afterToken = false;  // R-L4: tokens stack, but a line break after one ends the leading region
        var i = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '\n' && afterToken)
            {
                return i;
            }

            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c == '<' && TagEnd(s, i) is var tagEnd && tagEnd > 0)
            {
                i = tagEnd; // R-L1: HTML tags
                continue;
            }

            if (c == '>' || IsQuote(s, i))
            {
                quoted = true; // R-L2: block quote or quotation mark
                i++;
                continue;
            }

            if (IsOpenBracket(c))
            {
                // R-L3 (or R-L2 when quoted): a token; R-L7 when it never closes.
                var close = IndexOfClose(s, i + 1, s.Length);
                if (close < 0)
                {
                    hits.Add(new MarkerHit(_labels.Highest, LabelRules.Malformed, true, i, s.Length, Known: false));
                    return s.Length;
                }

                var known = _labels.RankOfToken(s[(i + 1)..close]);
                var rank = known ?? _labels.Highest;
                hits.Add(quoted
                    ? new MarkerHit(rank, LabelRules.Quoted, false, i, close + 1, known.HasValue)
                    : new MarkerHit(rank, LabelRules.Strong, true, i, close + 1, known.HasValue));
                i = close + 1;
                afterToken = true;
                continue;
            }

            if (IsCloseBracket(c))
            {
                // R-L7: the first significant character is a closing bracket (]CUI[).
                hits.Add(new MarkerHit(_labels.Highest, LabelRules.Malformed, true, i, i + 1, Known: false));
                return i + 1;
            }

            if (c == '(')
            {
                // R-L5 (b): a parenthesised label; other parentheses are prose and end the region.
                if (ReadParenthesised(s, i, quoted, hits) is var after && after > 0)
                {
                    i = after;
                    afterToken = true;
                    continue;
                }

                return i;
            }

            if (c is ')' or '{' or '}')
            {
                return i; // R-L1: brackets are not skipped; these open or close prose
            }

            if (IsLetterOrDigitAt(s, i))
            {
                if (OrderedListPrefixEnd(s, i) is var listEnd && listEnd > 0)
                {
                    i = listEnd; // R-L1: "1. " and "1) "
                    continue;
                }

                if (ReplyPrefixEnd(s, i) is var replyEnd && replyEnd > 0)
                {
                    quoted = true; // R-L2: Re:, Fwd:, Fw:
                    i = replyEnd;
                    continue;
                }

                // The first letter or digit ends the region (R-L1); a bare label word there is a weak form (R-L5 c).
                ReadBareWord(s, i, quoted, hits);
                return i;
            }

            // R-L1: any other punctuation or symbol (emphasis, code, fences, #, bullets, emoji, |, …, —); also marks
            // (an emoji's keycap) and controls, which are neither letters nor digits.
            i += char.IsHighSurrogate(c) && i + 1 < s.Length ? 2 : 1;
        }

        return i;
    }

    /// <summary>R-L5 (b): <c>(SECRET)</c> is that label; <c>(TOP SECRET)</c>, a label word among others, the highest. Returns the end, or 0 for prose.</summary>
    private int ReadParenthesised(string s, int open, bool quoted, List<MarkerHit> hits)
    {
        var lineEnd = LineEnd(s, open);
        var close = s.IndexOf(')', open + 1, lineEnd - open - 1);
        if (close < 0)
        {
            return 0;
        }

        var content = s[(open + 1)..close];
        var rule = quoted ? LabelRules.Quoted : LabelRules.Weak;
        if (_labels.RankOfToken(content) is { } rank)
        {
            hits.Add(new MarkerHit(rank, rule, false, open, close + 1));
            return close + 1;
        }

        if (_labels.ContainsLabelWord(content))
        {
            hits.Add(new MarkerHit(_labels.Highest, rule, false, open, close + 1));
            return close + 1;
        }

        return 0;
    }

    /// <summary>
    /// R-L5 (c) and R-L7 at the first letter: a whole label word followed by punctuation, a symbol or the end is that
    /// label (weak); followed by <c>/</c> it is a caveat banner (highest); followed by a closing bracket or <c>)</c> it
    /// is malformed (R-L7); followed by a space and a word it is prose.
    /// </summary>
    private void ReadBareWord(string s, int start, bool quoted, List<MarkerHit> hits)
    {
        if (_labels.MatchWordAt(s, start) is not var (rank, end))
        {
            return;
        }

        var k = end;
        while (k < s.Length && s[k] != '\n' && char.IsWhiteSpace(s[k]))
        {
            k++;
        }

        var weakRule = quoted ? LabelRules.Quoted : LabelRules.Weak;
        if (k >= s.Length || s[k] == '\n')
        {
            hits.Add(new MarkerHit(rank, weakRule, false, start, end)); // a banner alone on its line
        }
        else if (IsCloseBracket(s[k]) || s[k] == ')')
        {
            hits.Add(new MarkerHit(_labels.Highest, LabelRules.Malformed, true, start, k + 1, Known: false));
        }
        else if (s[k] == '/')
        {
            hits.Add(new MarkerHit(_labels.Highest, weakRule, false, start, k + 1)); // SECRET//NOFORN: an unknown caveat
        }
        else if (!char.IsLetterOrDigit(s[k]) && !IsMark(s[k]))
        {
            hits.Add(new MarkerHit(rank, weakRule, false, start, end)); // SECRET: …, SECRET_plan.pdf, cui - …
        }

        // Otherwise a space and a word follow: prose ("Secret santa").
    }

    /// <summary>R-L6: a known bracket token at the start of a later line is weak; unknown ones are ignored (code, arrays).</summary>
    private void ReadLaterLine(string s, int start, ref CloseBracketCursor closes, List<MarkerHit> hits)
    {
        var lineEnd = LineEnd(s, start);
        var i = start;
        while (i < lineEnd)
        {
            var c = s[i];
            if (c == '<' && TagEnd(s, i) is var tagEnd && tagEnd > 0 && tagEnd <= lineEnd)
            {
                i = tagEnd;
                continue;
            }

            if (IsOpenBracket(c))
            {
                // A token may run over line breaks (R-C2 removes them inside a token): "[SE\nCRET]" is SECRET here
                // as it is on the first line.
                var close = closes.FirstAtOrAfter(i + 1);
                if (close < 0)
                {
                    return;
                }

                // Many lines may open a token that the same far closing bracket ends: the content is looked at only
                // when it is short enough to name a label, so that costs no copy of the rest of the text per line.
                if (_labels.RankOfToken(s, i + 1, close) is { } rank)
                {
                    hits.Add(new MarkerHit(rank, LabelRules.LaterLine, false, i, close + 1));
                }

                if (close >= lineEnd)
                {
                    return; // the token ended on a later line, which the caller reads in its turn
                }

                i = close + 1;
                continue;
            }

            if (IsLetterOrDigitAt(s, i))
            {
                if (OrderedListPrefixEnd(s, i) is var listEnd && listEnd > 0)
                {
                    i = listEnd;
                    continue;
                }

                if (ReplyPrefixEnd(s, i) is var replyEnd && replyEnd > 0)
                {
                    i = replyEnd;
                    continue;
                }

                return;
            }

            if (IsCloseBracket(c) || c is '(' or ')' or '{' or '}')
            {
                return;
            }

            i += char.IsHighSurrogate(c) && i + 1 < s.Length ? 2 : 1; // whitespace, quotes, punctuation, symbols
        }
    }

    /// <summary>
    /// The first closing bracket at or after a position, for positions that only grow (the later lines, in order): one
    /// pass over the text in all, so a text of many lines that each open a bracket stays linear.
    /// </summary>
    private struct CloseBracketCursor(string text)
    {
        private int _searchedFrom;
        private int _found = -2; // -2: not searched yet; -1: no closing bracket from _searchedFrom on

        public int FirstAtOrAfter(int from)
        {
            if (_found != -2 && from >= _searchedFrom && (_found == -1 || from <= _found))
            {
                return _found;
            }

            _searchedFrom = from;
            _found = IndexOfClose(text, from, text.Length);
            return _found;
        }
    }

    private static int IndexOfClose(string s, int from, int limit)
    {
        for (var k = from; k < limit; k++)
        {
            if (IsCloseBracket(s[k]))
            {
                return k;
            }
        }

        return -1;
    }

    private static int LineEnd(string s, int from)
    {
        var nl = s.IndexOf('\n', from);
        return nl < 0 ? s.Length : nl;
    }

    /// <summary>The end of an HTML tag at <paramref name="i"/> (<c>&lt;b&gt;</c>, <c>&lt;/p&gt;</c>, <c>&lt;!-- --&gt;</c>), or 0 when it is not one.</summary>
    internal static int TagEnd(string s, int i)
    {
        if (i + 1 >= s.Length || !(char.IsAsciiLetter(s[i + 1]) || s[i + 1] is '/' or '!'))
        {
            return 0;
        }

        // Bounded, so a text of many '<' without '>' costs linear time.
        var close = s.IndexOf('>', i + 1, Math.Min(MaxTagLength, s.Length - i - 1));
        return close < 0 ? 0 : close + 1;
    }

    private static bool IsQuote(string s, int i)
    {
        var c = s[i];
        if (QuoteMarks.Contains(c, StringComparison.Ordinal))
        {
            return true;
        }

        var category = CharUnicodeInfo.GetUnicodeCategory(c);
        return category is UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation;
    }

    /// <summary>R-L1: a letter or a decimal digit (by code point, so letters outside the BMP count too).</summary>
    private static bool IsLetterOrDigitAt(string s, int i)
    {
        var category = Rune.TryGetRuneAt(s, i, out var rune) ? Rune.GetUnicodeCategory(rune) : UnicodeCategory.Surrogate;
        return category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber;
    }

    private static bool IsMark(char c) => CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark
        or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;

    /// <summary>R-L1: <c>1. </c> or <c>1) </c> (digits, then . or ), then whitespace).</summary>
    private static int OrderedListPrefixEnd(string s, int i)
    {
        var k = i;
        while (k < s.Length && k - i < 10 && char.IsAsciiDigit(s[k]))
        {
            k++;
        }

        if (k == i || k + 1 >= s.Length || s[k] is not ('.' or ')') || !char.IsWhiteSpace(s[k + 1]))
        {
            return 0;
        }

        return k + 1;
    }

    /// <summary>R-L2: <c>Re:</c>, <c>Fwd:</c>, <c>Fw:</c> (already case-folded).</summary>
    private int ReplyPrefixEnd(string s, int i)
    {
        foreach (var prefix in ReplyPrefixes)
        {
            if (string.CompareOrdinal(s, i, prefix, 0, prefix.Length) == 0 && _labels.MatchWordAt(s, i) is null)
            {
                return i + prefix.Length;
            }
        }

        return 0;
    }
}

/// <summary>The configured labels in canonical form, for comparing tokens (R-C1, R-C2, R-C3) and bare words (R-L5).</summary>
internal sealed class LabelKeys
{
    private readonly Dictionary<string, int> _byKey = new(StringComparer.Ordinal);
    private readonly (string Phrase, int Rank)[] _phrases;

    public LabelKeys(IReadOnlyList<string> names)
    {
        Highest = names.Count - 1;
        var phrases = new List<(string, int)>();
        for (var rank = 0; rank < names.Count; rank++)
        {
            var key = Canonicaliser.Key(names[rank]);
            // Two labels that canonicalise alike: the higher wins (fail closed).
            _byKey[key] = _byKey.TryGetValue(key, out var other) ? Math.Max(other, rank) : rank;
            phrases.Add((CollapseSpaces(Canonicaliser.Canonical(names[rank])), rank));
        }

        // Longest first, so "TOP SECRET" is tried before "TOP"; equal phrases: the higher rank first.
        _phrases = [.. phrases.OrderByDescending(p => p.Item1.Length).ThenByDescending(p => p.Item2)];
        _longestKey = _byKey.Keys.Select(k => k.Length).DefaultIfEmpty(0).Max();
    }

    /// <summary>The length of the longest key: a token content keeping more characters after R-C2 names no label.</summary>
    private readonly int _longestKey;

    public int Highest { get; }

    /// <summary>R-C2 then R-C3: the rank of a token's canonical content, or null when it names no label.</summary>
    public int? RankOfToken(string canonicalContent) =>
        _byKey.TryGetValue(Canonicaliser.RemoveSeparators(canonicalContent), out var rank) ? rank : null;

    /// <summary>
    /// <see cref="RankOfToken(string)"/> of the token content <c>s[start..end]</c>, without copying a content that is
    /// too long to name a label: after R-C2 it keeps more characters than the longest label key, so it names none (the
    /// same answer the copy would give). Costs at most the separators scanned plus the longest key's length.
    /// </summary>
    public int? RankOfToken(string s, int start, int end)
    {
        var kept = 0;
        for (var k = start; k < end; k++)
        {
            var c = s[k];
            if (char.IsSurrogate(c) || !Canonicaliser.IsSeparator(new Rune(c)))
            {
                if (++kept > _longestKey)
                {
                    return null;
                }
            }
        }

        return RankOfToken(s[start..end]);
    }

    /// <summary>Whether a whole label word starts at <paramref name="i"/> (after a character that is not part of a word).</summary>
    public bool LabelWordStartsAt(string s, int i) => (i == 0 || !IsWordChar(s[i - 1])) && MatchWordAt(s, i) is not null;

    /// <summary>A whole label word (or phrase) at <paramref name="start"/>: <c>secret</c> in "secret:", not in "secrets" or "secretary".</summary>
    public (int Rank, int End)? MatchWordAt(string s, int start)
    {
        foreach (var (phrase, rank) in _phrases)
        {
            if (phrase.Length == 0 || string.CompareOrdinal(s, start, phrase, 0, phrase.Length) != 0)
            {
                continue;
            }

            var end = start + phrase.Length;
            if (end >= s.Length || !IsWordChar(s[end]))
            {
                return (rank, end);
            }
        }

        return null;
    }

    /// <summary>R-L5 (b): parentheses holding a label word among other words, such as <c>(TOP SECRET)</c>.</summary>
    public bool ContainsLabelWord(string canonical)
    {
        for (var i = 0; i < canonical.Length; i++)
        {
            if ((i == 0 || !IsWordChar(canonical[i - 1])) && MatchWordAt(canonical, i) is not null)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark
        or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;

    /// <summary>Trims and turns every run of white space into one space.</summary>
    internal static string CollapseSpaces(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s.Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                if (sb.Length > 0 && sb[^1] != ' ')
                {
                    sb.Append(' ');
                }
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
