using Bridge.Core.Model;
using Bridge.Core.Text.Formatting;

namespace Bridge.Policy.Tests.Formatting;

/// <summary>Examples per construct: Mattermost Markdown, Matrix HTML and XEP-0393 styling into each other.</summary>
public sealed class FormattingExampleTests
{
    private readonly MessageFormatter _f = new();

    [Fact]
    public void Text_already_in_its_destinations_format_builds_no_converter()
    {
        // The sanitiser and the Markdown pipeline cost a cold process a few hundred milliseconds of CPU: a start that
        // relays XMPP to XMPP, or Markdown to Mattermost, must not pay for them.
        var f = new MessageFormatter();
        Assert.Equal("*hi*", f.Styling("*hi*", null, TextFormat.Styling));
        Assert.Equal("**hi**", f.Markdown("**hi**", null, TextFormat.Markdown));
        Assert.False(f.ConvertersBuilt);

        Assert.Equal("<p><strong>hi</strong></p>", f.Html("**hi**", null, TextFormat.Markdown));
        Assert.True(f.ConvertersBuilt);
    }

    [Theory]
    [InlineData("**bold**", "<p><strong>bold</strong></p>")]
    [InlineData("*it* and _it_", "<p><em>it</em> and <em>it</em></p>")]
    [InlineData("~~gone~~", "<p><del>gone</del></p>")]
    [InlineData("`x < y`", "<p><code>x &lt; y</code></p>")]
    [InlineData("```cs\nvar a = 1;\n```", "<pre><code class=\"language-cs\">var a = 1;\n</code></pre>")]
    [InlineData("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>")]
    [InlineData("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>")]
    [InlineData("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>")]
    [InlineData("[docs](https://example.org/d)", "<p><a href=\"https://example.org/d\">docs</a></p>")]
    [InlineData("see https://example.org", "<p>see <a href=\"https://example.org\">https://example.org</a></p>")]
    [InlineData("# Title", "<h1>Title</h1>")]
    [InlineData("a\n**b**", "<p>a<br>\n<strong>b</strong></p>")]
    public void Markdown_becomes_matrix_html(string markdown, string html) =>
        Assert.Equal(html, _f.Html(markdown, null, TextFormat.Markdown));

    [Fact]
    public void Pipe_table_becomes_an_html_table()
    {
        var html = _f.Html("| a | b |\n| --- | --- |\n| 1 | 2 |", null, TextFormat.Markdown)!;
        Assert.Contains("<table>", html);
        Assert.Contains("<th>a</th>", html);
        Assert.Contains("<td>2</td>", html);
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("[CUI] hello there")]
    [InlineData("line one\nline two")]
    public void Plain_text_gets_no_html(string text) => Assert.Null(_f.Html(text, null, TextFormat.Markdown));

    [Theory]
    [InlineData("<script>alert(1)</script>")]
    [InlineData("<img src=x onerror=alert(1)>")]
    [InlineData("<a href=\"javascript:alert(1)\">x</a>")]
    [InlineData("[x](javascript:alert(1))")]
    [InlineData("<b onclick=\"x()\">b</b> **y**")]
    public void Raw_html_and_script_links_never_become_active(string markdown)
    {
        var html = _f.Html(markdown, null, TextFormat.Markdown) ?? "";
        Assert.Null(ActiveContent.Find(html));
        // Raw HTML in Markdown is text, not markup: no element of it survives.
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b ", html, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("<strong>bold</strong> and <em>it</em>", "**bold** and *it*")]
    [InlineData("<del>gone</del>", "~~gone~~")]
    [InlineData("<code>a*b</code>", "`a*b`")]
    [InlineData("<pre><code class=\"language-py\">print(1)\n</code></pre>", "```py\nprint(1)\n```")]
    [InlineData("<blockquote><p>q1</p><p>q2</p></blockquote><p>after</p>", "> q1\n>\n> q2\n\nafter")]
    [InlineData("<ul><li>a</li><li>b<ul><li>c</li></ul></li></ul>", "- a\n- b\n  - c")]
    [InlineData("<ol start=\"3\"><li>x</li><li>y</li></ol>", "3. x\n4. y")]
    [InlineData("<a href=\"https://example.org\">site</a>", "[site](https://example.org)")]
    [InlineData("<a href=\"https://example.org\">https://example.org</a>", "https://example.org")]
    [InlineData("<h2>Head</h2><p>text</p>", "## Head\n\ntext")]
    [InlineData("a<br>b", "a\nb")]
    [InlineData("<u>under</u> <span data-mx-spoiler>secret</span>", "under secret")]
    [InlineData("2 * 3 = 6", "2 \\* 3 = 6")]
    [InlineData("<p>[CUI] hi</p>", "[CUI] hi")]
    [InlineData("<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>x|y</td></tr></table>", "| a | b |\n| --- | --- |\n| 1 | x\\|y |")]
    public void Matrix_html_becomes_markdown(string html, string markdown) =>
        Assert.Equal(markdown, _f.Markdown("plain", html, TextFormat.Plain));

    [Theory]
    [InlineData("**bold** *it* ~~del~~ `code`", "*bold* _it_ ~del~ `code`")]
    [InlineData("```\nx = 1\n```", "```\nx = 1\n```")]
    [InlineData("> quoted\n\nafter", "> quoted\n\nafter")]
    [InlineData("- a\n- b", "• a\n• b")]
    [InlineData("[docs](https://example.org/d)", "docs <https://example.org/d>")]
    [InlineData("| a | b |\n| --- | --- |\n| 1 | 2 |", "a | b\n1 | 2")]
    [InlineData("[CUI] **hi**", "[CUI] *hi*")]
    [InlineData("plain words", "plain words")]
    public void Markdown_becomes_xmpp_styling(string markdown, string styled) =>
        Assert.Equal(styled, _f.Styling(markdown, null, TextFormat.Markdown));

    [Theory]
    [InlineData("*bold* _it_ ~del~ `co*de`", "<p><strong>bold</strong> <em>it</em> <del>del</del> <code>co*de</code></p>")]
    [InlineData("> quote\nnext", "<blockquote><p>quote</p></blockquote><p>next</p>")]
    [InlineData("```\n*not bold*\n```", "<pre><code>*not bold*</code></pre>")]
    [InlineData("*nested _it_*", "<p><strong>nested <em>it</em></strong></p>")]
    public void Styling_becomes_html(string styled, string html) =>
        Assert.Equal(html, _f.Html(styled, null, TextFormat.Styling));

    [Theory]
    [InlineData("2 * 3 * 4")]
    [InlineData("snake_case_name")]
    [InlineData("* not a span*")]
    [InlineData("**")]
    [InlineData("[CUI] hello")]
    public void Text_that_is_not_styling_stays_plain(string text) => Assert.Null(_f.Html(text, null, TextFormat.Styling));

    [Theory]
    [InlineData("*bold* and _it_", "**bold** and *it*")]
    [InlineData("> q\n```\ncode\n```", "> q\n\n```\ncode\n```")]
    [InlineData("a*b", "a*b")]
    public void Styling_becomes_markdown(string styled, string markdown) =>
        Assert.Equal(markdown, _f.Markdown(styled, null, TextFormat.Styling));

    [Theory]
    [InlineData("[CUI](https://example.org) details")]
    [InlineData("**[CUI](https://example.org)** details")]
    public void A_marker_written_as_link_text_still_shows_the_label(string markdown)
    {
        Assert.StartsWith("[CUI] ", _f.Html(markdown, null, TextFormat.Markdown, "CUI"));
        Assert.StartsWith("[CUI] ", _f.Styling(markdown, null, TextFormat.Markdown, "CUI"));
        Assert.StartsWith("[CUI] ", _f.Markdown("CUI details", "<p><a href=\"https://example.org\">CUI</a> details</p>", TextFormat.Plain, "CUI"));
    }

    [Theory]
    [InlineData("[CUI] **bold**", "<p>[CUI] <strong>bold</strong></p>")]
    [InlineData("**[CUI]** bold", "<p><strong>[CUI]</strong> bold</p>")]
    public void A_shown_label_is_not_added_twice(string markdown, string html) =>
        Assert.Equal(html, _f.Html(markdown, null, TextFormat.Markdown, "CUI"));

    [Fact]
    public void Markdown_from_mattermost_reaches_mattermost_unchanged() =>
        Assert.Equal("**x** \\[", _f.Markdown("**x** \\[", null, TextFormat.Markdown));
}
