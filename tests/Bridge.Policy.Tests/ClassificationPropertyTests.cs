using System.Net;
using System.Text;
using Bridge.Core.Configuration;
using Bridge.Core.Policy;
using Bridge.Core.Policy.Labels;
using CsCheck;
using static Bridge.Policy.Tests.TestSupport;

namespace Bridge.Policy.Tests;

/// <summary>
/// Property tests of the classification standard. Messages are generated from the rules, not from a list: random
/// operator labels × leading wrappers (R-L1) × quoting (R-L2) × marker forms (R-L3 tokens with separators (R-C2),
/// stacked (R-L4), escaped (R-L8); R-L5 parentheses, bare words, caveats; R-L7 malformed shapes; unknown contents)
/// × look-alike letters and invisible characters (R-C1) × later lines (R-L6) × structured values (R-S1), and the
/// expected label and rule are worked out from the rules as stated (R-P1, R-L5's formula).
/// </summary>
public class ClassificationPropertyTests
{
    private const int Iterations = 3000;

    /// <summary>Label words an operator might configure (single words; no word is a prefix-word of another).</summary>
    private static readonly string[] Pool = ["UNCLASSIFIED", "CUI", "SECRET", "CONFIDENTIAL", "RESTRICTED", "OFFICIAL", "PROTECTED", "INTERNAL", "PUBLIC"];

    /// <summary>The standard's look-alike table (at least these fold to the ASCII letter).</summary>
    private static readonly Dictionary<char, string> LookAlikes = new()
    {
        ['A'] = "АΑᎪᗅꓮ𐊠ᴀаɑα", ['C'] = "СϹᏟⅭꓚ𐊢ᴄсϲⅽ", ['D'] = "ᎠⅮꓓᴅԁⅾ", ['E'] = "ЕΕᎬꓰᴇеҽ", ['F'] = "ϜꓝᖴϝғꜰＦ",
        ['I'] = "ІΙӀⅠꓲİɪіιıⅰ", ['L'] = "ᏞⅬꓡʟⅼ", ['N'] = "ΝꓠɴⲚո", ['R'] = "ᎡꓣʀƦг", ['S'] = "ЅᏚꓢꜱՏſѕ",
        ['T'] = "ТΤᎢꓔᴛт", ['U'] = "ՍꓴᴜԱսυ", ['O'] = "ОΟоο", ['P'] = "РΡрＰ", ['B'] = "ВΒＢ", ['0'] = "０",
    };

    /// <summary>R-C1 invisible: Cf samples and the listed extras.</summary>
    private static readonly string[] Invisibles =
    [
        "\u00AD", "\u061C", "\u180E", "\u200B", "\u200C", "\u200D", "\u200E", "\u200F", "\u202A", "\u202E", "\u2060", "\u2064", "\u2066",
        "\u206F", "\uFEFF", "\U000E0001", "\U000E0041", "\u034F", "\u115F", "\u1160", "\u3164", "\uFFA0", "\uFE00", "\uFE0F", "\U000E0100",
    ];

    /// <summary>R-C2 separators inside a token.</summary>
    private static readonly string[] Separators = [" ", "-", "_", ".", "\u00B7", "\u2022", "  "];

    /// <summary>R-L3 bracket family, with forms NFKC folds into it (fullwidth, vertical, small).</summary>
    private static readonly (string Open, string Close)[] Brackets =
    [
        ("[", "]"), ("\uFF3B", "\uFF3D"), ("\uFE47", "\uFE48"), ("\u27E6", "\u27E7"), ("\u3010", "\u3011"), ("\u3014", "\u3015"),
        ("\u3016", "\u3017"), ("\u3018", "\u3019"), ("\u2045", "\u2046"), ("\u2772", "\u2773"), ("\uFE5D", "\uFE5E"), ("\\[", "\\]"),
    ];

    /// <summary>R-L1 wrappers skipped before a marker (and R-L8 escaped ones).</summary>
    private static readonly string[] Wrappers =
    [
        " ", "\n", "\t", "*", "**", "_", "__", "~~", "`", "```\n", "# ", "### ", "- ", "* ", "+ ", "1. ", "23) ", "<b>", "<p>",
        "<span class=\"x\">", "\U0001F525 ", "\u26A0\uFE0F ", "| ", "\u2026", "\u2014 ", ":: ", "\\* ", "\\# ", "!! ", "\u2192 ",
    ];

    /// <summary>Closing wrappers after a token (skipped: the region continues to the prose).</summary>
    private static readonly string[] Closers = ["", "", "**", "_", "~~", "`", "</b>", " ", ":", " -"];

    /// <summary>R-L2 quoting.</summary>
    private static readonly string[] Quotes = ["> ", ">", "\"", "'", "\u201C", "\u2018", "\u201E", "\u00AB", "\u2039", "\u300C", "\u300E", "Re: ", "RE:", "Fwd: ", "Fw: ", "> > "];

    /// <summary>Prose that follows a marker (starts with a letter, names no label).</summary>
    private static readonly string[] Bodies = ["meeting at 10", "see notes", "plan", "hello world", "status"];

    /// <summary>Ends of a bare label word that make it a banner (R-L5 c): punctuation, symbol, end of line.</summary>
    private static readonly string[] BareEnds = [": x", " - x", "_plan.pdf", "!", " \u2014 notes", "\n", ":", " :: x", ". x", "  \n"];

    /// <summary>A source of choices drawn from a generated int stream, so CsCheck can shrink a failing message.</summary>
    private sealed class Choices(int[] stream)
    {
        private int _next;

        public int Int(int count) => count <= 1 ? 0 : (int)((uint)stream[_next++ % stream.Length] % (uint)count);

        public bool Chance(int percent) => Int(100) < percent;

        public T Of<T>(IReadOnlyList<T> items) => items[Int(items.Count)];
    }

    /// <summary>One marker as generated, with what the rules say it contributes.</summary>
    private sealed record Piece(string Text, int Rank, bool Strong, string Rule, bool EndsRegion);

    /// <summary>A generated message and the label and rule the standard gives it.</summary>
    private sealed record Generated(string[] Labels, int Default, string? Structured, string Text, int Expected, string Rule)
    {
        public override string ToString() =>
            $"labels={string.Join("<", Labels)} default={Labels[Default]} structured={Escape(Structured)} text=\"{Escape(Text)}\" expected={Labels[Expected]} rule={Rule}";
    }

    private static string Escape(string? s) => s is null ? "(none)" :
        string.Concat(s.EnumerateRunes().Select(r => r.Value is >= 0x20 and < 0x7F ? r.ToString() : $"\\u{r.Value:X4}"));

    /// <summary>A label spelt as a reader might see it: random case, look-alikes, invisibles, and (in tokens) separators.</summary>
    private static string Disguise(Choices c, string label, bool separators)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < label.Length; i++)
        {
            var ch = label[i];
            if (c.Chance(30) && LookAlikes.TryGetValue(ch, out var alikes))
            {
                sb.Append(c.Of(alikes.EnumerateRunes().ToList()).ToString());
            }
            else
            {
                sb.Append(c.Chance(50) ? char.ToLowerInvariant(ch) : ch);
            }

            if (i < label.Length - 1)
            {
                if (c.Chance(15))
                {
                    sb.Append(c.Of(Invisibles));
                }

                if (separators && c.Chance(15))
                {
                    sb.Append(c.Of(Separators));
                }
            }
        }

        return sb.ToString();
    }

    /// <summary>Content that names no label: an ASCII substitution (not folded), an extra letter, or typical non-labels.</summary>
    private static string Unknown(Choices c, string label) => c.Int(6) switch
    {
        0 when label.Contains('E') => label.Replace('E', '3'),
        1 when label.Contains('I') => label.Replace('I', c.Chance(50) ? '1' : 'l'),
        2 when label.Contains('S') => label.Replace('S', '5'),
        3 => "",
        4 => c.Of(["1", "x", "docs", " ", "TOP " + label]),
        _ => label + "Q",
    };

    private static Piece Marker(Choices c, string[] labels, bool quoted, bool last)
    {
        var highest = labels.Length - 1;
        var rank = c.Int(labels.Length);
        var label = labels[rank];
        var weakRule = quoted ? LabelRules.Quoted : LabelRules.Weak;
        var (open, close) = c.Of(Brackets);
        var kind = last ? c.Int(10) : c.Int(2);
        return kind switch
        {
            // R-L3 (R-L2 when quoted): a token naming a label, or naming none (highest)
            0 => new Piece(open + Disguise(c, label, separators: true) + close, rank, !quoted, quoted ? LabelRules.Quoted : LabelRules.Strong, false),
            1 => new Piece(open + Unknown(c, label) + close, highest, !quoted, quoted ? LabelRules.Quoted : LabelRules.Strong, false),
            // R-L5 (b): parentheses
            2 => new Piece("(" + Disguise(c, label, separators: false) + ")", rank, false, weakRule, true),
            3 => new Piece("(" + c.Of(["TOP ", "NOT ", "ALMOST "]) + Disguise(c, label, separators: false) + ")", highest, false, weakRule, true),
            // R-L5 (c): a bare word banner, or a caveat banner (unknown: highest)
            4 or 5 => new Piece(Disguise(c, label, separators: false) + c.Of(BareEnds), rank, false, weakRule, true),
            6 => new Piece(Disguise(c, label, separators: false) + c.Of(["//NOFORN", "//SP-PRVCY x", "/REL TO x"]), highest, false, weakRule, true),
            // R-L7: malformed
            7 => new Piece(Disguise(c, label, separators: false) + c.Of(["]", ")", "\u3011", " ]"]) + " x", highest, true, LabelRules.Malformed, true),
            8 => new Piece(c.Of(["]", "\uFF3D", "\u27E7"]) + Disguise(c, label, separators: false) + c.Of(["[", "", " x"]), highest, true, LabelRules.Malformed, true),
            _ => new Piece("[" + Disguise(c, label, separators: false) + " never closed", highest, true, LabelRules.Malformed, true),
        };
    }

    private static Gen<Generated> Messages { get; } =
        from labels in Gen.Int[2, 5].SelectMany(n => Gen.Shuffle(Pool, n))
        from stream in Gen.Int.Array[64]
        select Build(labels, new Choices(stream));

    private static Generated Build(string[] labels, Choices c)
    {
        var highest = labels.Length - 1;
        var defaultRank = c.Int(labels.Length);
        var text = new StringBuilder();
        var contributions = new List<(int Rank, string Rule)>();
        int strong = -1, weak = -1;
        void Count(Piece p)
        {
            contributions.Add((p.Rank, p.Rule));
            if (p.Strong)
            {
                strong = Math.Max(strong, p.Rank);
            }
            else
            {
                weak = Math.Max(weak, p.Rank);
            }
        }

        // R-L1 / R-L2: wrappers, with quoting somewhere among them.
        var quoted = false;
        var wrappers = c.Int(4);
        var quoteAt = c.Chance(30) ? c.Int(wrappers + 1) : -1;
        for (var i = 0; i <= wrappers; i++)
        {
            if (i == quoteAt)
            {
                text.Append(c.Of(Quotes));
                quoted = true;
            }

            if (i < wrappers)
            {
                text.Append(c.Of(Wrappers));
                if (c.Chance(10))
                {
                    text.Append(c.Of(Invisibles));
                }
            }
        }

        // R-L4: one to three markers; only the last may be a form that ends the leading region.
        var count = 1 + c.Int(3);
        var regionEnded = false;
        for (var i = 0; i < count && !regionEnded; i++)
        {
            var piece = Marker(c, labels, quoted, last: i == count - 1);
            text.Append(piece.Text);
            Count(piece);
            regionEnded = piece.EndsRegion;
            if (!regionEnded)
            {
                text.Append(c.Of(Closers));
                text.Append(c.Chance(50) ? " " : "");
            }
        }

        if (!regionEnded || c.Chance(50))
        {
            text.Append(' ').Append(c.Of(Bodies));
        }

        // R-L6: later lines; known tokens are weak, unknown ones ignored. Prose lines add nothing.
        var unclosed = contributions.Count > 0 && text.ToString().Contains("never closed", StringComparison.Ordinal);
        for (var lines = c.Int(3); lines > 0 && !unclosed; lines--)
        {
            text.Append('\n').Append(c.Of(["", "  ", "- ", "> ", "* ", "1. ", "**"]));
            var rank = c.Int(labels.Length);
            switch (c.Int(4))
            {
                case 0:
                    var (open, close) = c.Of(Brackets);
                    text.Append(open).Append(Disguise(c, labels[rank], separators: true)).Append(close).Append(" more");
                    Count(new Piece("", rank, false, LabelRules.LaterLine, false));
                    break;
                case 1:
                    text.Append('[').Append(Unknown(c, labels[rank])).Append("] ignored");
                    break;
                case 2:
                    text.Append(Disguise(c, labels[rank], separators: false)).Append(": bare words on later lines are prose");
                    break;
                default:
                    text.Append("prose ").Append('[').Append(labels[rank]).Append(']');
                    break;
            }
        }

        // R-S1: an optional structured value (known label, disguised with separators; or unknown).
        string? structured = null;
        var structuredRank = -1;
        if (c.Chance(30))
        {
            structuredRank = c.Int(labels.Length + 1);
            structured = structuredRank == labels.Length ? Unknown(c, labels[c.Int(labels.Length)]) : Disguise(c, labels[structuredRank], separators: true);
            structuredRank = Math.Min(structuredRank, highest);
            contributions.Add((structuredRank, LabelRules.Structured));
        }

        // R-P1 / R-L5: label = max(structured, or else the strong markers, or else the default; the weak markers).
        int baseRank;
        if (structuredRank >= 0)
        {
            baseRank = Math.Max(structuredRank, strong);
        }
        else if (strong >= 0)
        {
            baseRank = strong;
        }
        else
        {
            baseRank = defaultRank;
            contributions.Add((defaultRank, LabelRules.Default));
        }

        var expected = Math.Max(baseRank, weak);
        var rule = LabelRules.Precedence.First(r => contributions.Contains((expected, r)));
        return new Generated(labels, defaultRank, structured, text.ToString(), expected, rule);
    }

    private static LabelDecision Classify(Generated g, string? html = null)
    {
        var labels = LabelOrder.Create(g.Labels);
        return labels.Classifier.Classify(g.Structured is null ? [] : [g.Structured], html is null ? [g.Text] : [], html is null ? [] : [html], g.Default);
    }

    [Fact]
    public void Generated_markers_get_the_label_and_rule_the_standard_gives() =>
        Messages.Sample(g =>
        {
            var d = Classify(g);
            if (d.Rank != g.Expected || d.Rule != g.Rule)
            {
                throw new InvalidOperationException($"got {g.Labels[d.Rank]} by {d.Rule}");
            }
        }, iter: Iterations);

    [Fact]
    public void The_same_message_as_HTML_gets_the_same_label() =>
        Messages.Sample(g =>
        {
            var html = "<p>" + WebUtility.HtmlEncode(g.Text).Replace("\n", "<br>\n", StringComparison.Ordinal) + "</p>";
            var d = Classify(g, html);
            if (d.Rank != g.Expected)
            {
                throw new InvalidOperationException($"got {g.Labels[d.Rank]} by {d.Rule} from {Escape(html)}");
            }
        }, iter: Iterations);

    [Fact]
    public void Prose_before_a_marker_makes_it_prose() =>
        Messages.Sample(g =>
        {
            // R-L1: the first letter or digit ends the leading region ("FYI [CUI]", "2 [SECRET] items").
            var prose = g with { Text = (g.Text.Length % 2 == 0 ? "FYI " : "2 ") + g.Text.Replace("\n", " ", StringComparison.Ordinal), Structured = null };
            var d = Classify(prose);
            if ((d.Rank, d.Rule) != (g.Default, LabelRules.Default))
            {
                throw new InvalidOperationException($"got {g.Labels[d.Rank]} by {d.Rule}");
            }
        }, iter: Iterations);

    [Fact]
    public void A_delivered_message_reads_back_as_the_label_it_was_given()
    {
        var gen = from g in Messages from source in Gen.Int[0, 4] select (g, source);
        gen.Sample(t =>
        {
            var (g, sourceDefault) = t;
            var yaml = $"policy: {{ labels: [{string.Join(", ", g.Labels)}] }}";
            var policy = Compile(yaml);
            var source = Network("src", "A", defaultLabel: g.Labels[g.Default]);
            var destination = Network("dst", "B", clearance: g.Labels[^1]);
            var decision = Decide(policy, Message("src", g.Text, structured: g.Structured is null ? [] : [g.Structured]), source, destination);
            var delivered = decision.Event.Text;
            // Read again as a plain message on a network with any default: the same label, and one visible marker at most added.
            var again = LabelOrder.Create(g.Labels).Classifier.Classify([], [delivered], [], sourceDefault % g.Labels.Length);
            if (decision.Label != g.Labels[again.Rank])
            {
                throw new InvalidOperationException($"delivered \"{Escape(delivered)}\" as {decision.Label} reads back as {g.Labels[again.Rank]}");
            }

            if (delivered != g.Text && delivered != $"[{decision.Label}] {g.Text}")
            {
                throw new InvalidOperationException($"delivered \"{Escape(delivered)}\"");
            }
        }, iter: 1000);
    }

    [Fact]
    public void Stripped_display_names_show_no_marker()
    {
        var gen = from g in Messages from name in Gen.OneOf<string>("Alice", "Bob Smith", "Cui Wei", "d\u00E9j\u00E0") from tail in Gen.Int[0, 3] select (g, name, tail);
        gen.Sample(t =>
        {
            var (g, name, tail) = t;
            var classifier = LabelOrder.Create(g.Labels).Classifier;
            var firstLine = g.Text.Split('\n')[0];
            var display = tail switch
            {
                0 => firstLine + " " + name,
                1 => name + " [" + g.Labels[^1] + "]",
                2 => name + " (" + g.Labels[0] + ")",
                _ => firstLine + " " + name + " \u3010" + g.Labels[0] + "\u3011",
            };
            var stripped = display;
            for (var i = 0; i < 4; i++)
            {
                stripped = classifier.StripMarkers(stripped);
            }

            // No marker left: read as a message with the lowest default, nothing contributes.
            var d = classifier.Classify([], [stripped], [], 0);
            if ((d.Rank, d.Rule) != (0, LabelRules.Default))
            {
                throw new InvalidOperationException($"\"{Escape(display)}\" stripped to \"{Escape(stripped)}\" still reads {g.Labels[d.Rank]} by {d.Rule}");
            }
        }, iter: Iterations);
    }

    [Fact]
    public void Look_alikes_and_invisibles_canonicalise_to_the_label_but_ASCII_substitutions_do_not()
    {
        var gen = from label in Gen.OneOf<string>(Pool) from stream in Gen.Int.Array[64] select (label, new Choices(stream));
        gen.Sample(t =>
        {
            var (label, c) = t;
            var disguised = Disguise(c, label, separators: true);
            var expected = label.ToLowerInvariant();
            if (!string.Equals(Canonicaliser.Key(disguised), expected, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"\"{Escape(disguised)}\" canonicalises to \"{Escape(Canonicaliser.Key(disguised))}\"");
            }

            var substituted = label.Replace('E', '3').Replace('I', '1').Replace('S', '5').Replace('O', '0');
            if (substituted != label && string.Equals(Canonicaliser.Key(substituted), expected, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{substituted} was folded");
            }
        }, iter: Iterations);
    }
}
