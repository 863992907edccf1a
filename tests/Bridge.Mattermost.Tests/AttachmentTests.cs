using System.Net;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost.Tests;

public sealed class AttachmentTests
{
    [Fact]
    public async Task Attachments_are_uploaded_as_the_puppet_and_failures_become_links()
    {
        await using var h = await MmHarness.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        await using var media = builder.Build();
        media.MapGet("/cat.png", () => Results.Bytes([1, 2, 3, 4], "image/png"));
        await media.StartAsync();
        var baseUrl = media.Urls.First();

        var ev = MmHarness.Message("look") with
        {
            Attachments =
            [
                new Attachment { Name = "cat.png", ContentType = "image/png", Size = 4, Url = baseUrl + "/cat.png" },
                new Attachment { Name = "gone.pdf", ContentType = "application/pdf", Size = 1, Url = baseUrl + "/gone.pdf" },
            ],
        };
        var id = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(ev), CancellationToken.None)).NativeId;
        var post = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id);
        Assert.Single(post.FileIds);
        Assert.Equal($"look\n[gone.pdf]({baseUrl}/gone.pdf)", post.Message);
        await media.StopAsync();
    }

    [Fact]
    public async Task The_puppets_avatar_follows_the_person()
    {
        await using var h = await MmHarness.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        await using var media = builder.Build();
        var png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");
        media.MapGet("/alice.png", () => Results.Bytes(png, "image/png"));
        await media.StartAsync();

        var id = await h.DeliverTextAsync("with a face", MmHarness.Person(avatarUrl: media.Urls.First() + "/alice.png"));
        var puppet = h.Sandbox.GetUser(h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id).UserId);
        Assert.NotEqual(0, puppet.LastPictureUpdate);
        await media.StopAsync();
    }
}
