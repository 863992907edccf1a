using Bridge.Core.Policy.Labels;

namespace Bridge.Policy.Tests;

public class LabelTests
{
    private static readonly LabelOrder Labels = LabelOrder.Create(["UNCLASSIFIED", "CUI", "SECRET"]);

    // Updated to the classification standard (issue 9): "(CUI)" is now a weak marker (R-L5 b) and a Markdown link at
    // the start, "[the docs](url)", is a token naming no label, so the highest (R-L3). "None" rows fall back to the
    // default, here the lowest label.
    [Theory]
    [InlineData("[CUI] hello", 1)]
    [InlineData("[cui] hello", 1)]
    [InlineData("  \u200B[ CUI ]hello", 1)]
    [InlineData("[\u0421UI] Cyrillic Es", 1)]
    [InlineData("[\u0405\u0395\u0421R\u0395\u0422] Cyrillic and Greek", 2)]
    [InlineData("\uFF3B\uFF23\uFF35\uFF29\uFF3D fullwidth", 1)]
    [InlineData("[C\u200DU\u00ADI\u202E] invisibles and bidi", 1)]
    [InlineData("[\U0001D412\U0001D404\U0001D402\U0001D411\U0001D404\U0001D413] mathematical bold", 2)]
    [InlineData("[\u1D04\u1D1C\u026A] small capitals", 1)]
    [InlineData("\u3010SECRET\u3011 lenticular brackets", 2)]
    [InlineData("[unclassified] lower case", 0)]
    [InlineData("[SECRT] typo", 2)]
    [InlineData("[ ] empty", 2)]
    [InlineData("[] empty", 2)]
    [InlineData("[CUI hello, never closed", 2)]
    [InlineData("[\u200B] only invisible", 2)]
    [InlineData("hello [SECRET] later in the text", 0)]
    [InlineData("(CUI) parentheses hold a weak marker", 1)]
    [InlineData("[the docs](https://example.org) a Markdown link names no label", 2)]
    [InlineData("[SECRET](https://example.org) a link named like a label is still a marker", 2)]
    [InlineData("", 0)]
    public void Markers_are_read_through_case_look_alikes_and_invisible_characters(string text, int rank) =>
        Assert.Equal(rank, Labels.Classifier.Classify([], [text], [], defaultRank: 0).Rank);

    [Fact]
    public void Unknown_labels_rank_highest_and_known_ones_fold()
    {
        Assert.Equal(2, Labels.RankCarried("BOGUS"));
        Assert.Equal(2, Labels.RankCarried(""));
        Assert.Equal(1, Labels.RankCarried("c\u200Bui"));
        Assert.Equal(0, Labels.RankCarried("\uFF35NCLASSIFIED"));
        Assert.Null(Labels.TryRank("SECRETS"));
    }

    [Fact]
    public void Html_marker_is_read_after_leading_tags()
    {
        Assert.Equal(2, Labels.Classifier.Classify([], [], ["<p><strong>[SECRET]</strong> x</p>"], defaultRank: 0).Rank);
    }

    [Fact]
    public void Label_lists_with_look_alikes_duplicates_or_brackets_are_rejected()
    {
        Assert.Empty(LabelOrder.Validate(["UNCLASSIFIED", "CUI", "SECRET"]));
        Assert.Contains(LabelOrder.Validate(["CUI", "cui"]), e => e.Index == 1);
        Assert.Contains(LabelOrder.Validate(["C\u0423I"]), e => e.Index == 0);
        Assert.Contains(LabelOrder.Validate(["[CUI]"]), e => e.Index == 0);
        Assert.Contains(LabelOrder.Validate([""]), e => e.Index == 0);
    }

    [Fact]
    public void Fold_strips_invisibles_and_maps_look_alikes_but_keeps_plain_text_instances()
    {
        const string plain = "plain ascii";
        Assert.Same(plain, TextFold.Fold(plain));
        Assert.Equal("SECRET", TextFold.Fold("S\u200BE\u2060C\uFEFFR\u00ADE\u034FT"));
        Assert.Equal("paypal", TextFold.Fold("p\u0430yp\u0430l"));
    }
}
