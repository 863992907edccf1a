using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using static Bridge.Policy.Tests.TestSupport;

namespace Bridge.Policy.Tests;

/// <summary>
/// The reference coalition setting through the compiled policy: which rule decided the label
/// (<see cref="PolicyDecision.LabelRule"/>), and every event part a reader sees (reaction keys, file names, edits,
/// structured fields), delivered per R-D1.
/// </summary>
public class CoalitionPolicyTests
{
    private static readonly NetworkDefinition MmA = Network("mm-a", "A", clearance: "SECRET", defaultLabel: "CUI");
    private static readonly NetworkDefinition MatrixB = Network("matrix-b", "B", clearance: "CUI", defaultLabel: "UNCLASSIFIED");
    private static readonly NetworkDefinition XmppC = Network("xmpp-c", "C", clearance: "UNCLASSIFIED", defaultLabel: "UNCLASSIFIED");
    private static readonly NetworkDefinition[] All = [MmA, MatrixB, XmppC];
    private static readonly CompiledPolicy Policy = Compile("policy: { labels: [UNCLASSIFIED, CUI, SECRET] }");

    /// <summary>The networks other than the source that receive the event.</summary>
    private static string[] Reach(BridgeEvent e, NetworkDefinition source) =>
        All.Where(d => d != source && Decide(Policy, e, source, d).Verdict != PolicyVerdict.Block).Select(d => d.Id).ToArray();

    private static (string? Label, string? Rule) LabelOf(BridgeEvent e, NetworkDefinition source)
    {
        var d = Decide(Policy, e, source, source == MmA ? MatrixB : MmA);
        return (d.Label, d.LabelRule);
    }

    [Theory]
    [InlineData("[SECRET] hi", null, "SECRET", "R-L3")]
    [InlineData("hi", null, "CUI", "default")]
    [InlineData("hi", "CUI", "CUI", "R-S1")]
    [InlineData("SECRET: x", null, "SECRET", "R-L5")]
    [InlineData("[CUI hello", null, "SECRET", "R-L7")]
    [InlineData("> [SECRET] quoted", null, "SECRET", "R-L2")]
    [InlineData("hello\n[SECRET] there", null, "SECRET", "R-L6")]
    [InlineData("[UNCLASSIFIED] lowered", null, "UNCLASSIFIED", "R-L3")]
    [InlineData("hi", "", "SECRET", "R-S1")]
    public void The_rule_that_decided_the_label_is_reported(string text, string? structured, string label, string rule)
    {
        var e = Message("mm-a", text, structured: structured is null ? [] : [structured]);
        Assert.Equal((label, rule), LabelOf(e, MmA));
    }

    [Fact]
    public void No_label_rule_without_labels() =>
        Assert.Null(Decide(Compile("policy: { barriers: [] }"), Message("mm-a", "[SECRET] x"), MmA, MatrixB).LabelRule);

    [Fact]
    public void Delivery_follows_the_label_and_a_spill_still_reaches_mm_a()
    {
        Assert.Equal(["matrix-b", "xmpp-c"], Reach(Message("mm-a", "[UNCLASSIFIED] lunch"), MmA));
        Assert.Equal(["matrix-b"], Reach(Message("mm-a", "lunch"), MmA)); // mm-a's default is CUI
        Assert.Equal(["mm-a", "xmpp-c"], Reach(Message("matrix-b", "lunch"), MatrixB));
        Assert.Equal(["mm-a"], Reach(Message("matrix-b", "**SECRET**//NOFORN"), MatrixB));
        Assert.Equal(["mm-a"], Reach(Message("xmpp-c", "Re: [SECRET] spill"), XmppC));
        Assert.Equal(["mm-a", "matrix-b"], Reach(Message("xmpp-c", "> \u201C(C\u200BUI)\u201D"), XmppC));
    }

    [Fact]
    public void Reaction_keys_are_classified_with_the_reacting_networks_default()
    {
        static BridgeEvent Reaction(string network, string key) =>
            Message(network, "") with { Kind = BridgeEventKind.Reaction, ReactionKey = key, TargetNativeId = "t1" };

        Assert.Equal(["mm-a"], Reach(Reaction("matrix-b", "[SECRET]"), MatrixB));
        Assert.Equal(("SECRET", "R-L3"), LabelOf(Reaction("matrix-b", "[SECRET]"), MatrixB));
        Assert.Equal(["mm-a", "xmpp-c"], Reach(Reaction("matrix-b", "\U0001F44D"), MatrixB));
        Assert.Equal(["mm-a", "matrix-b"], Reach(Reaction("xmpp-c", "CUI"), XmppC));
        Assert.Equal(["matrix-b"], Reach(Reaction("mm-a", "thumbsup"), MmA)); // mm-a's default
    }

    [Fact]
    public void File_names_are_pooled_with_the_caption()
    {
        static BridgeEvent File(string network, string caption, string name) => Message(network, caption,
            attachments: [new Attachment { Name = name, ContentType = "application/pdf", Url = "https://files.example/1" }]);

        Assert.Equal(["mm-a"], Reach(File("matrix-b", "", "SECRET_plan.pdf"), MatrixB));
        Assert.Equal(["mm-a"], Reach(File("matrix-b", "[UNCLASSIFIED] see attached", "[SECRET] plan.pdf"), MatrixB));
        Assert.Equal(["mm-a", "xmpp-c"], Reach(File("matrix-b", "", "holiday.jpg"), MatrixB));
        Assert.Equal(["mm-a", "matrix-b"], Reach(File("xmpp-c", "", "(CUI) minutes.docx"), XmppC));
    }

    [Fact]
    public void Edits_are_classified_from_scratch()
    {
        var edit = Message("mm-a", "codes", structured: []) with { Kind = BridgeEventKind.Edit, TargetNativeId = "orig" };
        Assert.Equal(("CUI", "default"), LabelOf(edit, MmA)); // the original's [SECRET] is not inherited
        Assert.Equal(("SECRET", "R-L3"), LabelOf(edit with { Text = "[SECRET] codes" }, MmA));
    }

    [Fact]
    public void Present_but_empty_or_unreadable_structured_labels_rank_highest()
    {
        Assert.Empty(Reach(Message("mm-a", "x", structured: [""]), MmA));
        Assert.Equal(["mm-a"], Reach(Message("matrix-b", "x", structured: [StructuredLabel.NotAString]), MatrixB));
        Assert.Equal(["mm-a"], Reach(Message("xmpp-c", "x", structured: ["MQYCAQQGASk="]), XmppC)); // an ESS payload names no label
        Assert.Equal(["mm-a", "matrix-b"], Reach(Message("xmpp-c", "x", structured: ["c-u-i"]), XmppC));
    }

    [Theory]
    [InlineData("hello", "[CUI] hello")]
    [InlineData("[CUI] hello", "[CUI] hello")]
    [InlineData("cui: hello", "[CUI] cui: hello")]
    [InlineData("(CUI) hello", "[CUI] (CUI) hello")]
    [InlineData("\uFF3B\u0421UI\uFF3D hello", "\uFF3B\u0421UI\uFF3D hello")]
    [InlineData("[UNCLASSIFIED] hello\n[CUI] there", "[CUI] [UNCLASSIFIED] hello\n[CUI] there")]
    public void The_visible_label_is_added_once_and_reads_back_as_the_same_label(string text, string delivered)
    {
        var d = Decide(Policy, Message("xmpp-c", text, structured: ["CUI"]), XmppC, MatrixB);
        Assert.Equal(delivered, d.Event.Text);
        foreach (var source in All)
        {
            // Read again on any network with no structured label, the delivered text gives the same label.
            Assert.Equal("CUI", LabelOf(Message(source.Id, d.Event.Text), source).Label);
        }
    }

    [Fact]
    public void An_unknown_token_is_not_taken_as_the_visible_label()
    {
        var d = Decide(Policy, Message("xmpp-c", "[S3CRET] x"), XmppC, MmA);
        Assert.Equal(("SECRET", "[SECRET] [S3CRET] x"), (d.Label, d.Event.Text));
    }

    [Fact]
    public async Task Markers_are_stripped_from_the_senders_display_name_and_never_label_the_message()
    {
        await using var rig = await RouterRig.CreateAsync([MatrixB, XmppC], new ReloadableSharingPolicy(Policy));
        var e = Message("matrix-b", "hello") with
        {
            Sender = new PersonRef { NetworkId = "matrix-b", UserId = "@alice:b", DisplayName = "[SECRET] Alice \uFF08TOP SECRET\uFF09" },
        };
        Assert.Equal(Core.Connectors.IngestOutcome.Accepted, await rig.Router.IngestAsync(e, CancellationToken.None));
        var pending = await rig.Store.GetPendingAsync("xmpp-c", [], 10, CancellationToken.None);
        var item = Assert.Single(pending); // UNCLASSIFIED: the name did not label the message
        Assert.Equal("Alice", item.Event.Sender.DisplayName);
    }
}
