using Bridge.Core.Policy.Labels;

namespace Bridge.Policy.Tests;

/// <summary>
/// Texts the fuzzer (tests/Bridge.Fuzz.Tests, target policy-labels) found to make the marker reader allocate far more
/// than the text's size: any network can send such a text, so the classifier must stay linear. Measured in bytes
/// allocated (deterministic), not time.
/// </summary>
public class FuzzFindingTests
{
    private static readonly LabelClassifier Classifier = LabelOrder.Create(["UNCLASSIFIED", "CUI", "CONFIDENTIAL", "SECRET", "TOP SECRET"]).Classifier;

    private static long AllocatedBy(Action action)
    {
        action(); // once before measuring, so first-call set-up is not counted
        var before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void Many_later_lines_opening_a_token_that_one_far_bracket_closes_cost_linear_memory()
    {
        // The fuzzer's case (seed cAsLefKrJnC1): "label:" repeated, then hundreds of lines each starting with '[' whose
        // token the same closing bracket far below ended (R-L6 lets a token run over line breaks); every line copied
        // the rest of the text, 790 MB in one case.
        var text = string.Concat(Enumerable.Repeat("label:", 400)) + string.Concat(Enumerable.Repeat("[\u0085I}\u202e\uffff\u2028", 4000)) + "]";
        var bytes = AllocatedBy(() => Classifier.Classify([], [text], [], 0));
        Assert.Equal(LabelRules.Default, Classifier.Classify([], [text], [], 0).Rule); // R-L6: unknown later-line tokens are ignored
        Assert.True(bytes < 200L * text.Length, $"{bytes:N0} bytes for a text of {text.Length:N0} characters");
    }

    [Fact]
    public void A_known_token_running_over_later_lines_still_raises_the_label()
    {
        // The bound above only skips contents too long to name a label; R-L6 and R-C2 still apply in full.
        var text = "status\n[S\u00a0E\nC R E T]\n" + string.Concat(Enumerable.Repeat("[ \n", 2000)) + "x]";
        var decision = Classifier.Classify([], [text], [], 0);
        Assert.Equal((3, LabelRules.LaterLine), (decision.Rank, decision.Rule));
    }

    [Fact]
    public void A_display_name_of_many_open_parentheses_before_one_far_close_costs_linear_memory()
    {
        // The same shape for R-K6: every '(' copied the text up to the one ')' to look for a label word in it.
        var name = string.Concat(Enumerable.Repeat("(ab ", 5000)) + ") and (top secret) stays readable";
        var bytes = AllocatedBy(() => Classifier.StripMarkers(name));
        Assert.True(bytes < 200L * name.Length, $"{bytes:N0} bytes for a name of {name.Length:N0} characters");
        Assert.EndsWith(") and stays readable", Classifier.StripMarkers(name), StringComparison.Ordinal);
    }
}
