using Sandbox.Mattermost.Testing;
using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Bridge.Core.Model;
using Bridge.Core.Typing;

namespace Bridge.Mattermost.Tests;

/// <summary>
/// Typing on Mattermost: a person's WebSocket <c>typing</c> event reaches the typing relay (and its stop follows by
/// itself); a puppet that exists shows typing through <c>POST /users/{id}/typing</c>, seen by people in the channel.
/// </summary>
public sealed class TypingTests
{
    [Fact]
    public async Task Typing_goes_to_the_relay_with_a_stop_and_a_puppet_types_in_the_channel()
    {
        var typing = new RecordingTyping();
        await using var h = await MmHarness.StartAsync(typing: typing);
        var wren = h.Sandbox.CreateUser("wren");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, wren.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, wren.Id);
        var wrenToken = h.Sandbox.CreateAccessToken(wren.Id);
        using var http = new HttpClient { BaseAddress = h.Sandbox.BaseUrl };

        // In: Wren types (as her client does, through the server), then stops typing without saying anything.
        await PostTypingAsync(http, wren.Id, wrenToken, h.Seed.Channel.Id);
        await MmHarness.WaitUntilAsync(() => typing.Seen.Any(t => t.Person.UserId == wren.Id && t.Typing), "typing reported");
        await MmHarness.WaitUntilAsync(() => typing.Seen.Any(t => t.Person.UserId == wren.Id && !t.Typing), "the stop reported");
        Assert.All(typing.Seen, t => Assert.Equal(new ChannelRef(MmHarness.Network, MmHarness.DefaultChannel), t.Channel));
        Assert.Empty(h.Sink.All);

        // Out: a remote person's puppet (made by a message) types; Wren's WebSocket sees it; its own event is not relayed back.
        using var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("Authorization", "Bearer " + wrenToken);
        await ws.ConnectAsync(h.Sandbox.WebSocketUrl, CancellationToken.None);
        var remote = MmHarness.Person("Tom Remote", "@tom:example.org");
        var postId = await h.DeliverTextAsync("hi", remote);
        var puppet = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == postId).UserId;
        await h.Connector.ShowTypingAsync(new ChannelRef(MmHarness.Network, MmHarness.DefaultChannel), remote, true, CancellationToken.None);
        Assert.True(await WebSocketWatch.SeesTypingAsync(ws, puppet, TimeSpan.FromSeconds(10)));
        await Task.Delay(300);
        Assert.DoesNotContain(typing.Seen, t => t.Person.UserId == puppet);

        // Someone without a puppet here: nothing is made for typing.
        var users = h.Sandbox.Users.Count;
        await h.Connector.ShowTypingAsync(new ChannelRef(MmHarness.Network, MmHarness.DefaultChannel), MmHarness.Person("New Person", "@new:example.org"), true, CancellationToken.None);
        Assert.Equal(users, h.Sandbox.Users.Count);
    }

    private static async Task PostTypingAsync(HttpClient http, string userId, string token, string channelId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v4/users/{userId}/typing")
        {
            Content = new StringContent(new JsonObject { ["channel_id"] = channelId, ["parent_id"] = "" }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    private sealed class RecordingTyping : ITypingSink
    {
        public ConcurrentQueue<(ChannelRef Channel, PersonRef Person, bool Typing)> Seen { get; } = new();

        public void Typing(ChannelRef channel, PersonRef person, bool typing) => Seen.Enqueue((channel, person, typing));
    }
}
