using Bridge.Core.Policy;
using static Bridge.Policy.Tests.TestSupport;

namespace Bridge.Policy.Tests;

public class SourceAndLabelRuleTests
{
    private static readonly Core.Configuration.NetworkDefinition A = Network("org-a", "A");
    private static readonly Core.Configuration.NetworkDefinition B = Network("org-b", "B");

    [Theory]
    [InlineData("deny: { people: ['@mallory:a.example'] }", "@mallory:a.example", "source-deny")]
    [InlineData("deny: { people: ['@MALLORY:A.EXAMPLE'] }", "@mallory:a.example", "source-deny")]
    [InlineData("deny: { people: ['@bot-*:a.example'] }", "@bot-42:a.example", "source-deny")]
    [InlineData("deny: { people: ['re:@bot-\\d+:.*'] }", "@bot-42:a.example", "source-deny")]
    [InlineData("deny: { people: ['org-a/@mallory:*'] }", "@mallory:a.example", "source-deny")]
    [InlineData("deny: { networks: ['org-?'] }", "@alice:a.example", "source-deny")]
    [InlineData("deny: { organisations: [a] }", "@alice:a.example", "source-deny")]
    [InlineData("allow: { people: ['@bob:a.example'] }", "@alice:a.example", "source-allow")]
    [InlineData("allow: { organisations: [Z] }", "@alice:a.example", "source-allow")]
    [InlineData("allow: { people: ['@*:a.example'], organisations: [A] }", "@alice:a.example", null)]
    [InlineData("deny: { people: ['re:@bot-\\d+'] }", "@bot-42:a.example", null)]
    public void Source_allow_and_deny_lists_match_exact_glob_and_regex(string sources, string user, string? rule)
    {
        var policy = Compile($"policy: {{ links: {{ ops: {{ sources: {{ {sources} }} }} }} }}");
        var d = Decide(policy, Message("org-a", "hi", user: user), A, B);
        if (rule is null)
        {
            Assert.NotEqual(PolicyVerdict.Block, d.Verdict);
        }
        else
        {
            Assert.Equal(PolicyVerdict.Block, d.Verdict);
            Assert.Equal(rule, d.RuleId);
            Assert.Equal($"Your message was not shared with network 'org-b' (rule: {rule}).", d.SenderNotice);
        }
    }

    [Fact]
    public void Rules_of_another_link_do_not_apply()
    {
        var policy = Compile("policy: { links: { other: { sources: { deny: { networks: ['*'] } } } } }");
        Assert.Equal(PolicyVerdict.Deliver, Decide(policy, Message("org-a", "hi"), A, B).Verdict);
        Assert.Equal(PolicyVerdict.Block, Decide(policy, Message("org-a", "hi"), A, B, linkId: "other").Verdict);
    }

    [Fact]
    public void Destination_layer_adds_to_link_layer()
    {
        const string yaml = """
            policy:
              links:
                ops:
                  sources: { deny: { people: ['@eve:a.example'] } }
                  destinations:
                    org-b:
                      sources: { deny: { people: ['@alice:a.example'] } }
            """;
        var policy = Compile(yaml);
        var c = Network("org-c", "C");
        Assert.Equal(PolicyVerdict.Block, Decide(policy, Message("org-a", "x", user: "@alice:a.example"), A, B).Verdict);
        Assert.Equal(PolicyVerdict.Deliver, Decide(policy, Message("org-a", "x", user: "@alice:a.example"), A, c).Verdict);
        Assert.Equal(PolicyVerdict.Block, Decide(policy, Message("org-a", "x", user: "@eve:a.example"), A, c).Verdict);
    }

    [Fact]
    public void Clearance_blocks_events_above_it_and_the_label_travels()
    {
        var policy = Compile("policy: { labels: [UNCLASSIFIED, CUI, SECRET] }");
        var cui = Network("net-cui", "B", clearance: "CUI");
        var d = Decide(policy, Message("org-a", "[secret] plans"), A, cui);
        Assert.Equal(PolicyVerdict.Block, d.Verdict);
        Assert.Equal("clearance", d.RuleId);
        Assert.Equal("SECRET", d.Label);
        Assert.Equal("Your message was not shared with network 'net-cui' (rule: clearance).", d.SenderNotice);

        var ok = Decide(policy, Message("org-a", "[cui] plans"), A, cui);
        Assert.Equal(PolicyVerdict.Deliver, ok.Verdict);
        Assert.Equal("CUI", ok.Label);
        Assert.Equal("[cui] plans", ok.Event.Text);
    }

    [Fact]
    public void Unmarked_text_gets_the_visible_marker_of_its_label()
    {
        var policy = Compile("policy: { labels: [UNCLASSIFIED, CUI, SECRET] }");
        var source = Network("org-a", "A", defaultLabel: "CUI");
        var cleared = B with { Clearance = "SECRET" }; // a network without a clearance receives only the lowest label
        var d = Decide(policy, Message("org-a", "plans", html: "<p>plans</p>"), source, cleared);
        Assert.Equal(PolicyVerdict.Deliver, d.Verdict);
        Assert.Equal("CUI", d.Label);
        Assert.Equal("[CUI] plans", d.Event.Text);
        Assert.Equal("[CUI] <p>plans</p>", d.Event.Html);

        var structured = Decide(policy, Message("org-a", "[CUI] plans", structured: ["secret"]), source, cleared);
        Assert.Equal("SECRET", structured.Label);
        Assert.Equal("[SECRET] [CUI] plans", structured.Event.Text);
    }

    [Fact]
    public void A_visible_marker_is_not_overridden_by_a_lower_structured_label_nor_by_the_default()
    {
        var policy = Compile("policy: { labels: [UNCLASSIFIED, CUI, SECRET] }");
        var low = Network("low", "B", clearance: "CUI");
        Assert.Equal(PolicyVerdict.Block, Decide(policy, Message("org-a", "[SECRET] x", structured: ["UNCLASSIFIED"]), A, low).Verdict);
        Assert.Equal(PolicyVerdict.Block, Decide(policy, Message("org-a", "[SECRT] typo"), A, low).Verdict);
        Assert.Equal(PolicyVerdict.Block, Decide(policy, Message("org-a", "x", structured: ["bogus"]), A, low).Verdict);
        Assert.Equal(PolicyVerdict.Deliver, Decide(policy, Message("org-a", "x"), A, low).Verdict);
    }

    [Fact]
    public void Policy_overrides_network_labels_and_a_destination_clearance_can_only_lower()
    {
        const string yaml = """
            policy:
              labels: [UNCLASSIFIED, CUI, SECRET]
              networks:
                org-a: { defaultLabel: CUI }
                org-b: { clearance: SECRET }
              links:
                ops:
                  destinations:
                    org-b: { clearance: UNCLASSIFIED }
                    org-c: { clearance: SECRET }
            """;
        var policy = Compile(yaml);
        var c = Network("org-c", "C", clearance: "CUI");
        Assert.Equal("clearance", Decide(policy, Message("org-a", "default is CUI"), A, B).RuleId);
        Assert.Equal(PolicyVerdict.Deliver, Decide(policy, Message("org-a", "default is CUI"), A, B, linkId: "other").Verdict);
        Assert.Equal(PolicyVerdict.Block, Decide(policy, Message("org-a", "[SECRET] x"), A, c).Verdict);
    }

    [Fact]
    public void Barriers_block_every_kind_of_event_both_ways()
    {
        var policy = Compile("policy: { barriers: [[A, b]] }");
        var reaction = Message("org-a", "") with { Kind = Core.Model.BridgeEventKind.Reaction, ReactionKey = "+1" };
        Assert.Equal("barrier", Decide(policy, Message("org-a", "hi"), A, B).RuleId);
        Assert.Equal("barrier", Decide(policy, Message("org-b", "hi"), B, A).RuleId);
        Assert.Equal("barrier", Decide(policy, reaction, A, B).RuleId);
        Assert.Equal(PolicyVerdict.Deliver, Decide(policy, Message("org-a", "hi"), A, Network("org-c", "C")).Verdict);

        // A guest from org A speaking on org C's network is still barred from B.
        var guest = Message("org-c", "hi", org: "A");
        Assert.Equal("barrier", Decide(policy, guest, Network("org-c", "C"), B).RuleId);
    }

    [Fact]
    public void Notices_can_be_switched_off()
    {
        var policy = Compile("policy: { notices: false, barrierNotice: generic, barriers: [[A, B]] }");
        Assert.Null(Decide(policy, Message("org-a", "hi"), A, B).SenderNotice);
        var perLink = Compile("policy: { barrierNotice: generic, barriers: [[A, B]], links: { ops: { notices: false } } }");
        Assert.Null(Decide(perLink, Message("org-a", "hi"), A, B).SenderNotice);
        Assert.NotNull(Decide(perLink, Message("org-a", "hi"), A, B, linkId: "x").SenderNotice);
    }

    [Fact]
    public void A_destination_can_be_closed_for_a_link()
    {
        var policy = Compile("policy: { links: { ops: { destinations: { org-b: { block: true } } } } }");
        Assert.Equal("destination-block", Decide(policy, Message("org-a", "hi"), A, B).RuleId);
        Assert.Equal(PolicyVerdict.Deliver, Decide(policy, Message("org-b", "hi"), B, A).Verdict);
    }

    [Fact]
    public void A_marker_at_the_start_of_the_html_counts_even_when_the_text_has_none()
    {
        var policy = Compile("policy: { labels: [UNCLASSIFIED, CUI, SECRET] }");
        var low = Network("low", "B", clearance: "CUI");
        var d = Decide(policy, Message("org-a", "plans", html: "<p><b>[SECRET]</b> plans</p>"), A, low);
        Assert.Equal(PolicyVerdict.Block, d.Verdict);
        Assert.Equal("SECRET", d.Label);
    }
}
