using System.Text.Json.Nodes;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Formatting across the three real networks (docs/formatting.md): Mattermost Markdown, Matrix HTML and XEP-0393
/// styling each arrive in the form the destination shows, and raw HTML or script links never become active.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class FormattingEndToEndTests
{
    private static readonly TimeSpan Long = ThreeNetworks.Long;

    [Fact]
    public async Task Markdown_html_and_styling_arrive_in_each_networks_form()
    {
        await using var net = await ThreeNetworks.StartAsync();
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();

        net.CarolSays("fmt-1 **bold** and `code`\n\n> quoted");
        net.CarolSays("fmt-2 <script>alert(1)</script> **x** [y](javascript:alert(1))");
        net.Hs.SendMessage(net.MatrixRoom, net.Bob!.UserId, "fmt-3 bold x",
            formattedHtml: "<p>fmt-3 <strong>bold</strong> <a href=\"javascript:alert(1)\" onclick=\"x()\">x</a></p>");
        await alice.SayAsync("fmt-4 *bold* _it_");

        JsonObject? MatrixContent(string prefix) => net.Hs.GetMessages(net.MatrixRoom)
            .Select(e => e["content"] as JsonObject)
            .FirstOrDefault(c => c?["body"]?.GetValue<string>().StartsWith(prefix, StringComparison.Ordinal) == true);

        await ThreeNetworks.WaitUntilAsync(() => MatrixContent("fmt-1") is not null && MatrixContent("fmt-2") is not null && MatrixContent("fmt-4") is not null,
            Long, "Carol's and Alice's messages on Matrix");
        var first = MatrixContent("fmt-1")!;
        Assert.Equal("org.matrix.custom.html", first["format"]?.GetValue<string>());
        Assert.Equal("<p>fmt-1 <strong>bold</strong> and <code>code</code></p>\n<blockquote>\n<p>quoted</p>\n</blockquote>", first["formatted_body"]?.GetValue<string>());
        Assert.Equal("fmt-1 **bold** and `code`\n\n> quoted", first["body"]?.GetValue<string>());
        var second = MatrixContent("fmt-2")!["formatted_body"]!.GetValue<string>();
        Assert.Contains("&lt;script&gt;", second, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", second, StringComparison.Ordinal);
        Assert.DoesNotContain("javascript:", second, StringComparison.Ordinal);
        Assert.Equal("<p>fmt-4 <strong>bold</strong> <em>it</em></p>", MatrixContent("fmt-4")!["formatted_body"]?.GetValue<string>());

        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("fmt-3").Count == 1 && net.MattermostPosts("fmt-4").Count == 1, Long,
            "Bob's and Alice's messages on Mattermost");
        Assert.Equal("fmt-3 **bold** x", net.MattermostPosts("fmt-3")[0].Message);
        Assert.Equal("fmt-4 **bold** *it*", net.MattermostPosts("fmt-4")[0].Message);

        await alice.WaitForAsync(ms => ms.Any(m => m.Body.StartsWith("fmt-1", StringComparison.Ordinal)) && ms.Any(m => m.Body.StartsWith("fmt-3", StringComparison.Ordinal)),
            Long, "Carol's and Bob's messages on XMPP");
        Assert.Equal("fmt-1 *bold* and `code`\n\n> quoted", alice.Messages.First(m => m.Body.StartsWith("fmt-1", StringComparison.Ordinal)).Body);
        Assert.Equal("fmt-3 *bold* x", alice.Messages.First(m => m.Body.StartsWith("fmt-3", StringComparison.Ordinal)).Body);
        _ = bridge;
    }
}
