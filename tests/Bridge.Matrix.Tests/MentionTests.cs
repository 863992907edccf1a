using System.Text.Json.Nodes;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Matrix.Tests.Support;

namespace Bridge.Matrix.Tests;

/// <summary>Pills and m.mentions in and out: a puppet's pill names the person behind it, and back.</summary>
public sealed class MentionTests
{
    private static readonly string Carol = BridgeHarness.CarolPuppet;

    [Fact]
    public async Task Pills_of_intended_mentions_name_the_person_behind_a_puppet_or_the_Matrix_user_and_leave_no_link()
    {
        await using var h = await BridgeHarness.StartAsync();
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(1, "hi from xmpp"), CancellationToken.None));
        var carolUserId = h.Sandbox.GetMessages(h.RoomId).Single()["sender"]!.GetValue<string>();

        var id = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message", new JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = "Carol and Bob and Dan: hi",
            ["format"] = "org.matrix.custom.html",
            ["formatted_body"] = $"<a href=\"https://matrix.to/#/{carolUserId}\">Carol</a> and <a href=\"https://matrix.to/#/%40bob%3Alocalhost\">Bob</a> and <a href=\"https://matrix.to/#/@dan:localhost\">Dan</a>: hi",
            ["m.mentions"] = new JsonObject { ["user_ids"] = new JsonArray(carolUserId, "@bob:localhost") },
        });
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == id));

        var ev = h.Sink.Accepted.Single(e => e.NativeId == id);
        Assert.Equal(2, ev.Mentions.Count); // Dan's pill is a link, not a mention (not in m.mentions)
        Assert.Equal(("xmpp", "carol@example.org", "Carol"), (ev.Mentions[0].Person.NetworkId, ev.Mentions[0].Person.UserId, ev.Mentions[0].Written));
        Assert.Equal((BridgeHarness.Network, "@bob:localhost", "Bob"), (ev.Mentions[1].Person.NetworkId, ev.Mentions[1].Person.UserId, ev.Mentions[1].Written));
        Assert.DoesNotContain(carolUserId, ev.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("%40bob", ev.Html, StringComparison.Ordinal);
        Assert.Contains("@dan:localhost", ev.Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_mention_from_elsewhere_is_a_pill_of_the_puppet_or_the_Matrix_user_with_intentional_mentions()
    {
        await using var h = await BridgeHarness.StartAsync();
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(1, "hi from xmpp"), CancellationToken.None));

        var request = h.Request(2, "@alice and Carol <3, and @zoe", personId: "dave@example.org", personName: "Dave");
        request = request with
        {
            Event = request.Event with
            {
                Mentions =
                [
                    new Mention { Person = new PersonRef { NetworkId = BridgeHarness.Network, UserId = h.Alice.UserId, DisplayName = "Alice" }, Written = "@alice" },
                    new Mention { Person = new PersonRef { NetworkId = "xmpp", UserId = "carol@example.org", DisplayName = "Carol" }, Written = "Carol" },
                    new Mention { Person = new PersonRef { NetworkId = "xmpp", UserId = "zoe@example.org", DisplayName = "Zoe" }, Written = "@zoe" }, // no puppet here
                ],
            },
        };
        var id = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None)).NativeId;
        var content = h.Sandbox.GetMessages(h.RoomId).Single(m => m["event_id"]!.GetValue<string>() == id)["content"]!;
        Assert.Equal("@alice and Carol <3, and @zoe", content["body"]!.GetValue<string>());
        Assert.Equal($"<a href=\"https://matrix.to/#/{h.Alice.UserId}\">@alice</a> and <a href=\"https://matrix.to/#/{Carol}\">Carol</a> &lt;3, and @zoe",
            content["formatted_body"]!.GetValue<string>());
        Assert.Equal([h.Alice.UserId, Carol], content["m.mentions"]!["user_ids"]!.AsArray().Select(n => n!.GetValue<string>()));
    }
}
