using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Bridge.Core.Connectors;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Mattermost.Tests;

/// <summary>
/// Files through the core's media path on Mattermost: a file posted here is named by its id (never its API address)
/// and read with the bridge's token; a file from elsewhere is uploaded as the puppet and attached with file_ids.
/// </summary>
public sealed class AttachmentTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 13, 10, 26, 10, 9, 8, 7];

    [Fact]
    public async Task A_posted_file_is_named_by_its_id_and_read_back_with_the_bridges_token()
    {
        await using var h = await MmHarness.StartAsync();
        var (_, token) = Member(h, "dana");
        var fileId = await UploadAsync(h, token, h.Seed.Channel.Id, "plan.png", "image/png", Png);
        var post = await PostAsync(h, token, h.Seed.Channel.Id, "the plan", fileId);
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == post), "file post ingested");

        var ev = h.Sink.Messages.Single(e => e.NativeId == post);
        Assert.Equal("the plan", ev.Text);
        var attachment = Assert.Single(ev.Attachments);
        Assert.Equal(new MediaSource(MmHarness.Network, fileId), attachment.Source);
        Assert.Null(attachment.Url); // the server's address never leaves with the event
        Assert.Equal(("plan.png", "image/png", (long)Png.Length), (attachment.Name, attachment.ContentType, attachment.Size));

        await using var file = await new MediaReader(h.Registry, NullLogger.Instance).ReadAsync(attachment, 1024, CancellationToken.None);
        Assert.Equal(Png, await file.ReadAllBytesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_file_from_another_network_is_uploaded_as_the_puppet_and_a_link_elsewhere_is_kept_as_text()
    {
        await using var h = await MmHarness.StartAsync();
        var (_, token) = Member(h, "erin");
        var fileId = await UploadAsync(h, token, h.Seed.Channel.Id, "cat.png", "image/png", Png);

        var ev = MmHarness.Message("look") with
        {
            Attachments =
            [
                new Attachment { Name = "cat.png", ContentType = "image/png", Size = Png.Length, Source = new MediaSource(MmHarness.Network, fileId) },
                new Attachment { Name = "gone.pdf", ContentType = "application/pdf", Url = "https://files.example.org/gone.pdf" },
            ],
        };
        var delivered = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(ev), CancellationToken.None));
        Assert.Null(delivered.SenderNotice);
        var post = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == delivered.NativeId);
        var copy = Assert.Single(post.FileIds);
        Assert.NotEqual(fileId, copy);
        Assert.Equal("look\ngone.pdf: https://files.example.org/gone.pdf", post.Message);
        Assert.Equal(Png, await DownloadAsync(h, token, copy));
        Assert.NotEqual(h.Seed.Admin.Id, post.UserId); // the puppet's upload and post, not the bridge account's
    }

    [Fact]
    public async Task A_file_over_the_cap_or_unreadable_leaves_a_notice_and_tells_the_sender()
    {
        await using var h = await MmHarness.StartAsync(options: o => o.MaxAttachmentBytes = 8);
        var (_, token) = Member(h, "finn");
        var fileId = await UploadAsync(h, token, h.Seed.Channel.Id, "big.png", "image/png", Png);

        var ev = MmHarness.Message("files") with
        {
            Attachments =
            [
                new Attachment { Name = "big.png", ContentType = "image/png", Source = new MediaSource(MmHarness.Network, fileId) },
                new Attachment { Name = "lost.txt", ContentType = "text/plain", Source = new MediaSource(MmHarness.Network, "abcdefghijklmnopqrstuvwxyz") },
            ],
        };
        var delivered = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(ev), CancellationToken.None));
        var post = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == delivered.NativeId);
        Assert.Empty(post.FileIds);
        Assert.Equal("files\n[file \"big.png\" not delivered: larger than the 8 bytes limit here]\n[file \"lost.txt\" not delivered: it could not be read from its network]", post.Message);
        Assert.Equal("Your file \"big.png\" was not delivered to network 'mm': it is larger than its 8 bytes limit. Your file \"lost.txt\" was not delivered to network 'mm': it could not be read.",
            delivered.SenderNotice);
        Assert.DoesNotContain("api/v4", post.Message, StringComparison.Ordinal);

        // A file alone: the notice is the whole post (no empty first line).
        var alone = MmHarness.Message("") with { Attachments = [ev.Attachments[0]] };
        var second = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(alone), CancellationToken.None));
        Assert.Equal("[file \"big.png\" not delivered: larger than the 8 bytes limit here]", h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == second.NativeId).Message);
    }

    [Fact]
    public async Task A_reference_that_is_not_a_file_id_is_never_fetched()
    {
        await using var h = await MmHarness.StartAsync();
        foreach (var reference in new[] { "../users/me", "https://evil.example/x", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abc" })
        {
            var e = await Assert.ThrowsAsync<MediaUnavailableException>(() => h.Connector.OpenMediaAsync(reference, CancellationToken.None));
            Assert.Equal(MediaFailure.Unavailable, e.Failure);
        }
    }

    [Fact]
    public async Task An_avatar_url_somewhere_else_is_never_fetched()
    {
        // Pictures cross only through their own network's connector (AvatarTests); a URL a network passed is not one.
        await using var h = await MmHarness.StartAsync();
        var requests = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        await using var media = builder.Build();
        var png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");
        media.MapGet("/alice.png", () =>
        {
            Interlocked.Increment(ref requests);
            return Results.Bytes(png, "image/png");
        });
        await media.StartAsync();

        var id = await h.DeliverTextAsync("with a face", MmHarness.Person(avatarUrl: media.Urls.First() + "/alice.png"));
        var puppet = h.Sandbox.GetUser(h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id).UserId);
        Assert.Equal(0, puppet.LastPictureUpdate);
        Assert.Equal(0, Volatile.Read(ref requests));
        await media.StopAsync();
    }

    private static (Sandbox.Mattermost.SandboxUser User, string Token) Member(MmHarness h, string name)
    {
        var user = h.Sandbox.CreateUser(name);
        h.Sandbox.AddToTeam(h.Seed.Team.Id, user.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, user.Id);
        return (user, h.Sandbox.CreateAccessToken(user.Id));
    }

    private static async Task<string> UploadAsync(MmHarness h, string token, string channelId, string name, string type, byte[] data)
    {
        using var http = new HttpClient { BaseAddress = h.Sandbox.BaseUrl };
        using var form = new MultipartFormDataContent { { new StringContent(channelId), "channel_id" } };
        var part = new ByteArrayContent(data);
        part.Headers.ContentType = new MediaTypeHeaderValue(type);
        form.Add(part, "files", name);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v4/files") { Content = form };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["file_infos"]![0]!["id"]!.GetValue<string>();
    }

    private static async Task<string> PostAsync(MmHarness h, string token, string channelId, string message, string fileId)
    {
        using var http = new HttpClient { BaseAddress = h.Sandbox.BaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v4/posts")
        {
            Content = JsonContent(new JsonObject { ["channel_id"] = channelId, ["message"] = message, ["file_ids"] = new JsonArray(fileId) }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
    }

    private static async Task<byte[]> DownloadAsync(MmHarness h, string token, string fileId)
    {
        using var http = new HttpClient { BaseAddress = h.Sandbox.BaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v4/files/{fileId}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }

    private static StringContent JsonContent(JsonObject body) => new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
}
