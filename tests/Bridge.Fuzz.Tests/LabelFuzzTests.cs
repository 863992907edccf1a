using Bridge.Core.Policy.Labels;

namespace Bridge.Fuzz.Tests;

/// <summary>
/// The policy's marker parser and classifier (src/Bridge.Core/Policy/Labels) on mutated marked text and HTML: it never
/// throws, always decides a label of the order by a rule of the standard, decides the same twice (and in a second
/// classifier for the same order), and its marker spans and stripped names stay inside their input.
/// </summary>
public sealed class LabelFuzzTests
{
    private static readonly string[] Order = ["UNCLASSIFIED", "CUI", "CONFIDENTIAL", "SECRET", "TOP SECRET"];
    private static readonly LabelClassifier Classifier = LabelOrder.Create(Order).Classifier;
    private static readonly LabelClassifier Second = LabelOrder.Create(Order).Classifier;

    private static readonly string[] Corpus =
    [
        "[CUI] status report", "(S) troop movements\nsecond line [TS]", "SECRET//NOFORN the plan", "> [SECRET] quoted\nreply [CUI]", "hello world",
        "<p><b>[CONFIDENTIAL]</b> hi</p><blockquote>[TOP SECRET]</blockquote>", "<mx-reply>[SECRET]</mx-reply>[UNCLASSIFIED] ok", "［ＳＥＣＲＥＴ］ fullwidth", "[ＣUІ] homoglyph",
        "Classification: Top Secret", "[TOP  SECRET] spaced", "[unknown] label", "[", "[]", "TOP SECRET", "U//FOUO",
    ];

    private static readonly string[] Tokens =
    [
        "[", "]", "(", ")", "【", "】", "［", "］", "<", ">", "//", "/", "\n", "\r\n", "> ", " ", "\u00a0", "\u200b", "\u200d", "\u2060", "\u00ad", "\u202e", "\u0301", "\ufeff", "\ud800",
        "CUI", "cui", "SECRET", "S", "TS", "C", "U", "TOP", "TOP SECRET", "CONFIDENTIAL", "UNCLASSIFIED", "ѕесrеt", "ＳＥＣＲＥＴ", "𝐒𝐄𝐂𝐑𝐄𝐓", "NOFORN",
        "<b>", "</b>", "<p>", "</p>", "<br>", "<blockquote>", "</blockquote>", "<mx-reply>", "</mx-reply>", "<script>", "</script>", "<!--", "-->", "&#91;", "&#x5d;", "&lsqb;", "&amp;",
        "Classification:", "label:", "```", "`",
    ];

    private static readonly Gen<(string Text, string Html, string[] Structured, int Default)> Inputs = Gen.Select(
        Gen.Frequency((6, Mutator.Strings(Corpus, Tokens)), (2, Mutator.Tokens(Tokens, 40)), (1, Mutator.Random(60))),
        Gen.Frequency((3, Gen.Const("")), (2, Mutator.Strings(Corpus, Tokens))),
        Gen.Frequency((6, Gen.Const(Array.Empty<string>())), (1, Gen.OneOf(Tokens.Concat(Order).Concat(["", "null", "\0"]).ToArray()).Array[1, 2])),
        Gen.Int[0, Order.Length - 1]);

    [Fact]
    public void Any_text_gets_exactly_one_label_of_the_order_the_same_every_time() =>
        FuzzRunner.Run("policy-labels", Inputs, input =>
        {
            var (text, html, structured, defaultRank) = input;
            var decision = Classifier.Classify(structured, [text, null], [html], defaultRank);
            Assert.InRange(decision.Rank, 0, Order.Length - 1);
            Assert.Contains(decision.Rule, LabelRules.Precedence);
            Assert.Equal(decision, Classifier.Classify(structured, [text, null], [html], defaultRank));
            Assert.Equal(decision, Second.Classify(structured, [text], [html, ""], defaultRank));
            if (structured.Length > 0)
            {
                // R-S1: a structured value decides at least its own rank, whatever the text says.
                Assert.True(decision.Rank >= structured.Max(Classifier.RankOfStructured), "the structured value was outranked downwards");
            }

            foreach (var (start, end) in Classifier.MarkerSpans(text))
            {
                Assert.True(0 <= start && start < end && end <= text.Length, $"marker span {start}..{end} outside a text of {text.Length}");
            }

            var stripped = Classifier.StripMarkers(text);
            Assert.Equal(stripped, Classifier.StripMarkers(text));
            return decision.Rule != LabelRules.Default;
        }, input => $"text {Mutator.Show(input.Text)} html {Mutator.Show(input.Html)} structured [{string.Join(", ", input.Structured.Select(Mutator.Show))}] default {input.Default}");
}
