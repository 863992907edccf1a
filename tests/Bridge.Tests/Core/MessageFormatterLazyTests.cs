using Bridge.Core.Model;
using Bridge.Core.Text.Formatting;

namespace Bridge.Tests.Core;

/// <summary>
/// The formatter builds its HTML and Markdown machinery (AngleSharp, the sanitiser, Markdig) only when a message needs
/// a conversion, so a daemon whose messages keep their format never loads it (docs/performance.md, "Memory").
/// </summary>
public sealed class MessageFormatterLazyTests
{
    [Fact]
    public void Nothing_is_built_until_a_message_changes_format()
    {
        var formatter = new MessageFormatter();

        Assert.Equal("*hi* there", formatter.Styling("*hi* there", null, TextFormat.Styling, "CUI"));
        Assert.Equal("**hi** there", formatter.Markdown("**hi** there", null, TextFormat.Markdown, "CUI"));
        Assert.Equal("plain", formatter.Styling("plain", null, TextFormat.Plain));
        Assert.Equal("plain", formatter.Markdown("plain", null, TextFormat.Plain));
        Assert.Null(formatter.Html("", null, TextFormat.Markdown));
        Assert.Null(formatter.Html("plain", null, TextFormat.Plain));
        Assert.Equal("<b>x</b>", formatter.Html("x", "<b>x</b>", TextFormat.Plain));

        Assert.False(formatter.ConvertersBuilt);
    }

    [Fact]
    public void The_first_conversion_builds_them_and_converts()
    {
        var formatter = new MessageFormatter();

        Assert.Equal("<p><strong>bold</strong></p>", formatter.Html("**bold**", null, TextFormat.Markdown));

        Assert.True(formatter.ConvertersBuilt);
    }
}
