using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bridge.Host.Admin.Access;
using Bridge.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// A Mattermost endpoint and a Matrix endpoint put in a link of the running daemon through the admin API: the bridge
/// account joins the Mattermost channel live (the sandbox, like a real server, lets only members post and sends events
/// only to members), messages cross both ways, and once the endpoint is removed the next one does not cross and the
/// bridge account has left. A channel the server will not give the bridge is a 400 naming the field, with nothing changed.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class LiveEndpointEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);
    private const string OperatorToken = "e2e-operator-token-0123456789abcdef";

    [Fact]
    public async Task A_mattermost_and_a_matrix_endpoint_added_through_the_api_carry_messages_and_stop_when_removed()
    {
        var port = FreePorts.Next();
        await using var net = await ThreeNetworks.StartAsync(configure: b => b.Raw($$"""
            admin:
              listen: http://127.0.0.1:{{port}}
              tokens:
                ops-alice: { hash: "{{TokenHash.Of(OperatorToken)}}", role: operator }
            """));
        var live = net.Mm.CreateChannel(net.Seed!.Team.Id, "live", "Live");
        net.Mm.AddToChannel(live.Id, net.Carol!.Id);
        var liveRoom = net.Hs.CreateRoom(net.Bob!.UserId, aliasLocalpart: "live");
        net.Hs.Invite(liveRoom, net.Bob.UserId, ThreeNetworks.Bot);
        await net.StartBridgeAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(20) };
        await AdminApiProbe.WaitForHealthAsync(http, Long);
        Assert.False(net.Mm.IsChannelMember(live.Id, net.Seed.Admin.Id));

        // A link with an XMPP room and the Matrix room, then the Mattermost channel added to it.
        var created = await SendAsync(http, HttpMethod.Post, "/api/links", new
        {
            id = "live",
            endpoints = new[] { new { network = "xmpp", channel = net.Xmpp.Room("live") }, new { network = "matrix", channel = "#live:localhost" } },
        });
        Assert.Equal(HttpStatusCode.Created, created.Status);

        var refused = await SendAsync(http, HttpMethod.Post, "/api/links/live/endpoints", new { network = "mm", channel = "demo/no-such-channel" });
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("endpoints[2].channel", refused.Json.GetProperty("field").GetString());
        Assert.Equal(2, (await SendAsync(http, HttpMethod.Get, "/api/links/live", null)).Json.GetProperty("endpoints").GetArrayLength());

        var added = await SendAsync(http, HttpMethod.Post, "/api/links/live/endpoints", new { network = "mm", channel = "demo/live" });
        Assert.Equal(HttpStatusCode.OK, added.Status);
        Assert.True(net.Mm.IsChannelMember(live.Id, net.Seed.Admin.Id), "the bridge account joined the channel before the answer");

        // Carol (Mattermost) → Bob (Matrix): the bot joins the Matrix room in the background, so say it until it crosses.
        var deadline = DateTime.UtcNow + Long;
        for (var i = 0; !MatrixBodies(net, liveRoom).Any(b => b.StartsWith("mm-to-matrix-", StringComparison.Ordinal)); i++)
        {
            Assert.True(DateTime.UtcNow < deadline, "nothing crossed from the live Mattermost channel to the Matrix room");
            net.Mm.Post(net.Carol.Id, live.Id, $"mm-to-matrix-{i}");
            await Task.Delay(1000);
        }

        // Bob (Matrix) → Carol (Mattermost): a puppet posts in the channel, which only members may do.
        net.Hs.SendMessage(liveRoom, net.Bob.UserId, "matrix-to-mm");
        await ThreeNetworks.WaitUntilAsync(() => LivePosts(net, live.Id).Any(p => p.Message == "matrix-to-mm"), Long, "Bob's message in the live Mattermost channel");
        var puppet = LivePosts(net, live.Id).Single(p => p.Message == "matrix-to-mm").UserId;
        Assert.NotEqual(net.Seed.Admin.Id, puppet);
        Assert.True(net.Mm.IsChannelMember(live.Id, puppet));

        // Removed: the bridge account and the puppet leave; the next messages do not cross.
        var removed = await SendAsync(http, HttpMethod.Delete, "/api/links/live/endpoints?network=mm&channel=" + Uri.EscapeDataString("demo/live"), null);
        Assert.Equal(HttpStatusCode.OK, removed.Status);
        Assert.False(net.Mm.IsChannelMember(live.Id, net.Seed.Admin.Id));
        Assert.False(net.Mm.IsChannelMember(live.Id, puppet));
        net.Mm.Post(net.Carol.Id, live.Id, "after-removal-from-mm");
        net.Hs.SendMessage(liveRoom, net.Bob.UserId, "after-removal-from-matrix");

        // The file link still carries (Carol in town-square → Matrix #ops): once that has crossed, the others had their chance.
        net.CarolSays("control-after-removal");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("control-after-removal").Count == 1, Long, "the control message on the file link");
        await Task.Delay(2000);
        Assert.DoesNotContain(MatrixBodies(net, liveRoom), b => b == "after-removal-from-mm");
        Assert.DoesNotContain(LivePosts(net, live.Id), p => p.Message == "after-removal-from-matrix");
        output.WriteLine($"crossed both ways through the live endpoint; after removal neither crossed; bridge account member: {net.Mm.IsChannelMember(live.Id, net.Seed.Admin.Id)}");
    }

    private static IReadOnlyList<string> MatrixBodies(ThreeNetworks net, string roomId) =>
        [.. net.Hs.GetMessages(roomId).Select(e => (e["content"] as JsonObject)?["body"]?.GetValue<string>() ?? "")];

    private static IReadOnlyList<Sandbox.Mattermost.SandboxPost> LivePosts(ThreeNetworks net, string channelId) =>
        [.. net.Mm.GetPosts(channelId).Where(p => !p.IsDeleted && !p.IsSystem)];

    private static async Task<(HttpStatusCode Status, JsonElement Json)> SendAsync(HttpClient http, HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OperatorToken);
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }
}
