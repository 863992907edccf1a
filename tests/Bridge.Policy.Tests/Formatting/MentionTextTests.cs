using Bridge.Core.Model;
using Bridge.Core.Text.Mentions;

namespace Bridge.Policy.Tests.Formatting;

/// <summary>Where each destination's form of a mention goes: the source's words, in order, never inside code or a link.</summary>
public sealed class MentionTextTests
{
    private static Mention M(string written, string id = "u") =>
        new() { Person = new PersonRef { NetworkId = "n", UserId = id, DisplayName = written }, Written = written };

    [Fact]
    public void Text_forms_replace_whole_words_in_order_outside_code()
    {
        var mentions = new[] { M("Al", "al"), M("@bob", "bob"), M("Al", "al") };
        var text = MentionText.Render("Alice, `Al` and Al; @bobby @bob then Al.", mentions, m => "<" + m.Person.UserId + ">", out var placed);
        Assert.Equal("Alice, `Al` and <al>; @bobby <bob> then <al>.", text);
        Assert.Equal([(16, 4), (29, 5), (40, 4)], placed.Select(p => (p.Start, p.Length)));
    }

    [Fact]
    public void A_mention_whose_words_are_gone_is_left_out_and_the_rest_still_placed()
    {
        var text = MentionText.Render("hola Bob", [M("Alice"), M("Bob")], m => "@" + m.Written.ToLowerInvariant());
        Assert.Equal("hola @bob", text);
    }

    [Fact]
    public void Html_forms_go_into_text_nodes_only_never_into_links_code_or_tags()
    {
        var html = "<p title=\"Bob\"><a href=\"x\">Bob</a> <code>Bob</code> Tom &amp; Bob</p>";
        var rendered = MentionText.RenderHtml(html, [M("Bob"), M("Tom & Bob")], m => $"<a href=\"https://matrix.to/#/@{m.Written.Length}:s\">{m.Written}</a>");
        Assert.Equal("<p title=\"Bob\"><a href=\"x\">Bob</a> <code>Bob</code> Tom &amp; <a href=\"https://matrix.to/#/@3:s\">Bob</a></p>", rendered);
    }
}
