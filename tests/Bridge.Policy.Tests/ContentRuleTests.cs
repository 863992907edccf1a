using Bridge.Core.Model;
using Bridge.Core.Policy;
using static Bridge.Policy.Tests.TestSupport;

namespace Bridge.Policy.Tests;

public class ContentRuleTests
{
    private static readonly Core.Configuration.NetworkDefinition A = Network("org-a", "A");
    private static readonly Core.Configuration.NetworkDefinition B = Network("org-b", "B");

    private static PolicyDecision Run(string yaml, BridgeEvent e) => Decide(Compile(yaml), e, A, B);

    [Fact]
    public void Attachments_are_stripped_by_type_and_size()
    {
        const string yaml = """
            policy:
              defaults:
                content:
                  attachments: { types: ["image/*"], maxBytes: 1000 }
            """;
        var e = Message("org-a", "see attached", attachments:
        [
            new Attachment { Name = "a.png", ContentType = "image/png", Size = 10 },
            new Attachment { Name = "big.png", ContentType = "image/png", Size = 5000 },
            new Attachment { Name = "x.exe", ContentType = "application/octet-stream", Size = 10 },
        ]);
        var d = Run(yaml, e);
        Assert.Equal(PolicyVerdict.DeliverModified, d.Verdict);
        Assert.Equal("attachments", d.RuleId);
        Assert.Equal(["a.png"], d.Event.Attachments.Select(a => a.Name));
        Assert.Equal("Your message was shared with network 'org-b' with changes (rule: attachments).", d.SenderNotice);
    }

    [Fact]
    public void Attachments_block_the_message_when_configured_and_an_attachment_only_message_is_blocked_when_stripped()
    {
        var att = new Attachment { Name = "x.pdf", ContentType = "application/pdf", Size = 10 };
        var blocked = Run("policy: { defaults: { content: { attachments: { allowed: false, action: block } } } }", Message("org-a", "hi", attachments: [att]));
        Assert.Equal(PolicyVerdict.Block, blocked.Verdict);
        Assert.Equal("attachments", blocked.RuleId);

        var emptied = Run("policy: { defaults: { content: { attachments: { allowed: false } } } }", Message("org-a", "", attachments: [att]));
        Assert.Equal(PolicyVerdict.Block, emptied.Verdict);

        var kept = Run("policy: { defaults: { content: { attachments: { allowed: false } } } }", Message("org-a", "text stays", attachments: [att]));
        Assert.Equal(PolicyVerdict.DeliverModified, kept.Verdict);
        Assert.Empty(kept.Event.Attachments);
        Assert.Equal("text stays", kept.Event.Text);
    }

    [Fact]
    public void Links_to_unlisted_hosts_are_replaced_removed_or_blocked()
    {
        const string text = "ok https://docs.example.org/a?b and https://evil.test/x and http://ex\u0430mple.org/ and www.other.test";
        var replaced = Run("policy: { defaults: { content: { links: { allowedDomains: ['*.example.org', 'example.org'] } } } }", Message("org-a", text));
        Assert.Equal(PolicyVerdict.DeliverModified, replaced.Verdict);
        Assert.Equal("links", replaced.RuleId);
        Assert.Equal("ok https://docs.example.org/a?b and [link removed] and [link removed] and [link removed]", replaced.Event.Text);

        var removed = Run("policy: { defaults: { content: { links: { allowedDomains: [example.org], action: remove } } } }", Message("org-a", "see https://evil.test/x now"));
        Assert.Equal("see  now", removed.Event.Text);

        var blocked = Run("policy: { defaults: { content: { links: { allowedDomains: [example.org], action: block } } } }", Message("org-a", "see https://user@evil.test:443/x"));
        Assert.Equal(PolicyVerdict.Block, blocked.Verdict);
        Assert.Equal("links", blocked.RuleId);

        var fine = Run("policy: { defaults: { content: { links: { allowedDomains: [example.org], action: block } } } }", Message("org-a", "see https://EXAMPLE.org./x"));
        Assert.Equal(PolicyVerdict.Deliver, fine.Verdict);
    }

    [Fact]
    public void Html_with_a_disallowed_link_is_dropped_in_favour_of_the_cleaned_text()
    {
        var d = Run("policy: { defaults: { content: { links: { allowedDomains: [example.org] } } } }",
            Message("org-a", "click here", html: "<a href=\"https://evil.test\">click here</a>"));
        Assert.Equal(PolicyVerdict.DeliverModified, d.Verdict);
        Assert.Null(d.Event.Html);
        Assert.Equal("click here", d.Event.Text);
    }

    [Fact]
    public void Redaction_patterns_replace_matches_and_disguised_matches_block()
    {
        const string yaml = """
            policy:
              defaults:
                content:
                  redact:
                    - { name: ssn, pattern: '\b\d{3}-\d{2}-\d{4}\b', replacement: '[SSN]' }
                    - { name: codeword, pattern: '(?i)\bblue\s+falcon\b' }
            """;
        var d = Run(yaml, Message("org-a", "id 123-45-6789 for Blue Falcon"));
        Assert.Equal(PolicyVerdict.DeliverModified, d.Verdict);
        Assert.Equal("redact:ssn", d.RuleId);
        Assert.Equal("id [SSN] for [REDACTED]", d.Event.Text);
        Assert.Contains("(rule: redact:ssn)", d.SenderNotice, StringComparison.Ordinal);

        var disguised = Run(yaml, Message("org-a", "about Bl\u200Bue F\u0430lcon"));
        Assert.Equal(PolicyVerdict.Block, disguised.Verdict);
        Assert.Equal("redact:codeword", disguised.RuleId);

        var clean = Run(yaml, Message("org-a", "nothing to see"));
        Assert.Equal(PolicyVerdict.Deliver, clean.Verdict);
    }

    [Fact]
    public void Long_text_is_truncated_or_blocked()
    {
        var text = new string('x', 50);
        var cut = Run("policy: { defaults: { content: { maxLength: 10 } } }", Message("org-a", text));
        Assert.Equal(PolicyVerdict.DeliverModified, cut.Verdict);
        Assert.Equal("max-length", cut.RuleId);
        Assert.Equal(10, cut.Event.Text.Length);
        Assert.EndsWith("…", cut.Event.Text, StringComparison.Ordinal);

        var blocked = Run("policy: { defaults: { content: { maxLength: 10, maxLengthAction: block } } }", Message("org-a", text));
        Assert.Equal(PolicyVerdict.Block, blocked.Verdict);

        var surrogate = Run("policy: { defaults: { content: { maxLength: 3 } } }", Message("org-a", "a\U0001F600bcdef"));
        Assert.False(char.IsHighSurrogate(surrogate.Event.Text[^2]));
    }

    [Theory]
    [InlineData("@all hands", "@\u2060all hands")]
    [InlineData("hey @channel and @HERE and @room!", "hey @\u2060channel and @\u2060HERE and @\u2060room!")]
    [InlineData("mail bob@all.example or @allison", "mail bob@all.example or @allison")]
    [InlineData("@everyone", "@\u2060everyone")]
    public void Channel_wide_mentions_get_a_word_joiner(string text, string expected)
    {
        var d = Run("policy: {}", Message("org-a", text));
        Assert.Equal(expected, d.Event.Text);
        Assert.Equal(text == expected ? PolicyVerdict.Deliver : PolicyVerdict.DeliverModified, d.Verdict);
    }

    [Fact]
    public void Mention_neutralising_can_be_switched_off_per_destination()
    {
        const string yaml = """
            policy:
              links:
                ops:
                  destinations:
                    org-b: { content: { neutraliseMentions: false } }
            """;
        Assert.Equal("@all", Run(yaml, Message("org-a", "@all")).Event.Text);
    }

    [Fact]
    public void Nothing_applies_returns_the_same_event_instance()
    {
        var e = Message("org-a", "plain words");
        var d = Run("policy: { defaults: { content: { maxLength: 100, links: { allowedDomains: [example.org] }, redact: [ { name: x, pattern: 'zzz' } ] } } }", e);
        Assert.Equal(PolicyVerdict.Deliver, d.Verdict);
        Assert.Same(e, d.Event);
        Assert.Null(d.SenderNotice);
    }

    [Fact]
    public void A_reaction_whose_key_breaks_a_content_rule_is_blocked()
    {
        const string yaml = "policy: { defaults: { content: { redact: [ { name: codeword, pattern: '(?i)falcon' } ], links: { allowed: false } } } }";
        Core.Model.BridgeEvent Reaction(string key) => Message("org-a", "") with { Kind = BridgeEventKind.Reaction, ReactionKey = key, TargetNativeId = "m1" };
        Assert.Equal("redact:codeword", Run(yaml, Reaction("F\u0430lcon")).RuleId);
        Assert.Equal("links", Run(yaml, Reaction("https://evil.test")).RuleId);
        Assert.Equal(PolicyVerdict.Deliver, Run(yaml, Reaction("\U0001F44D")).Verdict);
    }
}
