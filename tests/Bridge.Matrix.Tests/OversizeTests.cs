using System.Text;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Matrix.Formatting;
using Bridge.Matrix.Tests.Support;

namespace Bridge.Matrix.Tests;

/// <summary>Messages larger than one Matrix event (65,536 bytes) arrive whole, in order, in several events; what cannot be cut is refused with a reason for the sender.</summary>
public sealed class OversizeTests
{
    private static string LongText(int bytes)
    {
        var sb = new StringBuilder();
        var paragraph = 0;
        while (Encoding.UTF8.GetByteCount(sb.ToString()) < bytes)
        {
            sb.Append("Paragraph ").Append(paragraph++).Append(": ");
            for (var w = 0; w < 120; w++)
            {
                sb.Append(w % 17 == 0 ? "naïve \"quoted\" émoji \U0001F600 " : "word ").Append(w).Append(' ');
            }

            sb.Append(paragraph % 3 == 0 ? "\n" : "\n\n");
        }

        return sb.ToString().TrimEnd();
    }

    [Fact]
    public async Task A_200_KB_message_arrives_in_order_in_several_events_with_nothing_lost()
    {
        await using var h = await BridgeHarness.StartAsync();
        var text = "[CUI] " + LongText(200 * 1024);
        var request = h.Request(40, text) with { Label = "CUI" };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None));

        var events = h.Sandbox.GetMessages(h.RoomId);
        Assert.True(events.Count >= 4, $"expected at least 4 events, got {events.Count}");
        var bodies = events.Select(e => e["content"]!["body"]!.GetValue<string>()).ToList();
        Assert.All(events, e => Assert.Equal("CUI", e["content"]!["org.bridge.classification"]!.GetValue<string>()));
        Assert.All(events, e => Assert.True(EventSize.CanonicalBytes(e["content"]) <= EventSize.ContentBudget));
        // Every part is visibly marked; without the repeated markers the parts concatenate to exactly the original.
        Assert.All(bodies, b => Assert.StartsWith("[CUI] ", b, StringComparison.Ordinal));
        Assert.Equal(text, bodies[0] + string.Concat(bodies.Skip(1).Select(b => b["[CUI] ".Length..])));
        // Cuts fall on paragraph or line breaks here (there are plenty within every budget).
        Assert.All(bodies.SkipLast(1), b => Assert.EndsWith("\n", b, StringComparison.Ordinal));

        // A retry (a lost answer) sends nothing twice: every part has its own transaction id.
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None));
        Assert.Equal(events.Count, h.Sandbox.GetMessages(h.RoomId).Count);
    }

    [Fact]
    public async Task Long_html_is_split_into_well_formed_parts_whose_bodies_say_the_same()
    {
        await using var h = await BridgeHarness.StartAsync();
        var items = Enumerable.Range(0, 3000).Select(i => $"<li><b>item {i}</b> &amp; <a href=\"https://example.org/{i}\">link {i}</a> tail text here</li>");
        var html = "<p>intro</p><ul>" + string.Concat(items) + "</ul><p>outro</p>";
        var text = "intro\n" + string.Join("\n", Enumerable.Range(0, 3000).Select(i => $"item {i} & link {i} tail text here")) + "\noutro";
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(41, text, html: html), CancellationToken.None));

        var events = h.Sandbox.GetMessages(h.RoomId);
        Assert.True(events.Count >= 3, $"expected several events, got {events.Count}");
        var htmlParts = events.Select(e => e["content"]!["formatted_body"]!.GetValue<string>()).ToList();
        foreach (var part in htmlParts)
        {
            XElement.Parse("<root>" + part.Replace("&amp;", "&#38;", StringComparison.Ordinal) + "</root>"); // balanced tags, no torn tag or reference
            Assert.True(EventSize.CanonicalBytes(JsonValue.Create(part)) < EventSize.ContentBudget);
        }

        var allText = string.Join("\n", events.Select(e => e["content"]!["body"]!.GetValue<string>()));
        for (var i = 0; i < 3000; i += 7)
        {
            Assert.Contains($"item {i} & link {i} tail text here", allText, StringComparison.Ordinal);
        }

        Assert.StartsWith("intro", allText, StringComparison.Ordinal);
        Assert.EndsWith("outro", allText, StringComparison.Ordinal);
        var order = Enumerable.Range(0, 3000).Select(i => allText.IndexOf($"item {i} &", StringComparison.Ordinal)).ToList();
        Assert.Equal(order.Order(), order);
    }

    [Fact]
    public async Task An_edit_too_large_for_one_event_is_dead_lettered_with_a_reason_and_a_notice_for_the_sender()
    {
        await using var h = await BridgeHarness.StartAsync();
        var original = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(50, "short"), CancellationToken.None));
        var edit = h.Request(51, LongText(40 * 1024), kind: BridgeEventKind.Edit, target: original.NativeId);
        var rejected = Assert.IsType<DeliveryResult.Rejected>(await h.Connector.DeliverAsync(edit, CancellationToken.None));
        Assert.Contains("too large", rejected.Reason, StringComparison.Ordinal);
        Assert.Contains("65536", rejected.Reason, StringComparison.Ordinal);
        Assert.Equal("Your edit was too large for network 'matrix' and was not delivered there.", rejected.SenderNotice);
        Assert.Single(h.Sandbox.GetMessages(h.RoomId));
    }

    [Fact]
    public async Task A_message_that_cannot_be_cut_small_enough_is_refused_with_a_reason()
    {
        await using var h = await BridgeHarness.StartAsync();
        // The label travels in every part, so a label of 64 KB leaves no room for any text at all.
        var request = h.Request(60, "hello") with { Label = new string('L', 64 * 1024) };
        var rejected = Assert.IsType<DeliveryResult.Rejected>(await h.Connector.DeliverAsync(request, CancellationToken.None));
        Assert.Contains("too large for Matrix", rejected.Reason, StringComparison.Ordinal);
        Assert.NotNull(rejected.SenderNotice);
        Assert.Empty(h.Sandbox.GetMessages(h.RoomId));
    }

    [Theory]
    [InlineData(300)]
    [InlineData(1000)]
    [InlineData(5000)]
    public void Html_parts_stay_within_the_budget_and_keep_every_word(int budget)
    {
        var html = "<blockquote><p>" + string.Join(" ", Enumerable.Range(0, 2000).Select(i => i % 50 == 0 ? $"<i>w{i}</i>&nbsp;x" : "w" + i)) + "</p></blockquote>"
            + "<pre><code>" + new string('z', 3000) + "&lt;end&gt;</code></pre>";
        var parts = HtmlSplitter.Split(html, budget);
        Assert.True(parts.Count > 1);
        Assert.All(parts, p => Assert.True(EventSize.CanonicalBytes(JsonValue.Create(p)) - 2 <= budget, $"part of {p.Length} chars over {budget}"));
        Assert.All(parts, p => XElement.Parse("<r>" + p.Replace("&nbsp;", "&#160;", StringComparison.Ordinal) + "</r>"));
        var text = string.Concat(parts.Select(HtmlSplitter.ToPlainText));
        Assert.Equal(HtmlSplitter.ToPlainText(html).Replace("\n", "", StringComparison.Ordinal), text.Replace("\n", "", StringComparison.Ordinal));
    }
}
