using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Matrix.Tests.Support;

namespace Bridge.Matrix.Tests;

public sealed class AttachmentTests
{
    [Fact]
    public async Task Fetchable_attachments_are_uploaded_as_media_events_and_others_become_links()
    {
        await using var h = await BridgeHarness.StartAsync();
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3];
        using var upload = new HttpRequestMessage(HttpMethod.Post, new Uri(h.Sandbox.BaseUrl, "/_matrix/media/v3/upload?filename=src.png"))
        {
            Content = new ByteArrayContent(png),
        };
        upload.Headers.Authorization = new AuthenticationHeaderValue("Bearer", h.Alice.AccessToken);
        upload.Content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var uploaded = await h.Http.SendAsync(upload);
        var sourceMxc = JsonNode.Parse(await uploaded.Content.ReadAsStringAsync())!["content_uri"]!.GetValue<string>();
        var sourceUrl = new Uri(h.Sandbox.BaseUrl, "/_matrix/media/v3/download/" + sourceMxc["mxc://".Length..]).ToString();

        var request = h.Request(77, "look at this");
        request = request with
        {
            Event = request.Event with
            {
                Attachments =
                [
                    new Attachment { Name = "photo.png", ContentType = "image/png", Size = png.Length, Url = sourceUrl },
                    new Attachment { Name = "gone.pdf", ContentType = "application/pdf", Url = "http://127.0.0.1:1/gone.pdf" },
                ],
            },
        };
        var first = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None));
        var again = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None));
        Assert.Equal(first.NativeId, again.NativeId);

        var messages = h.Sandbox.GetMessages(h.RoomId);
        Assert.Equal(2, messages.Count);
        var text = messages[0]["content"]!["body"]!.GetValue<string>();
        Assert.StartsWith("look at this", text, StringComparison.Ordinal);
        Assert.Contains("gone.pdf: http://127.0.0.1:1/gone.pdf", text, StringComparison.Ordinal);
        var image = messages[1]["content"]!;
        Assert.Equal("m.image", image["msgtype"]!.GetValue<string>());
        var mxc = image["url"]!.GetValue<string>();
        Assert.StartsWith("mxc://localhost/", mxc, StringComparison.Ordinal);
        Assert.NotEqual(sourceMxc, mxc);
        var copy = await h.Http.GetByteArrayAsync(new Uri(h.Sandbox.BaseUrl, "/_matrix/media/v3/download/" + mxc["mxc://".Length..]));
        Assert.Equal(png, copy);

        // The same picture as the person's avatar ends up on the puppet's profile.
        var withAvatar = h.Request(78, "new face");
        withAvatar = withAvatar with { Event = withAvatar.Event with { Sender = withAvatar.Event.Sender with { AvatarUrl = sourceUrl } } };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(withAvatar, CancellationToken.None));
        var avatar = h.Sandbox.GetProfile(BridgeHarness.CarolPuppet)["avatar_url"]!.GetValue<string>();
        Assert.StartsWith("mxc://localhost/", avatar, StringComparison.Ordinal);
    }
}
