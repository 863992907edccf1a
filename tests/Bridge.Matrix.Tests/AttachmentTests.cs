using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Bridge.Core.Connectors;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Matrix.Tests.Support;

namespace Bridge.Matrix.Tests;

/// <summary>
/// Files through the core's media path on Matrix: the source is read from the homeserver with the appservice token
/// (authenticated media, the legacy path on an older homeserver), the destination gets its own upload.
/// </summary>
public sealed class AttachmentTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3];

    [Fact]
    public async Task A_file_is_read_through_authenticated_media_and_uploaded_while_an_unfetchable_one_stays_a_notice()
    {
        await using var h = await BridgeHarness.StartAsync();
        var sourceMxc = await UploadAsAliceAsync(h, Png, "image/png");

        var request = h.Request(77, "look at this");
        request = request with
        {
            Event = request.Event with
            {
                Attachments =
                [
                    new Attachment { Name = "photo.png", ContentType = "image/png", Size = Png.Length, Source = new MediaSource(BridgeHarness.Network, sourceMxc), Width = 640, Height = 480 },
                    new Attachment { Name = "gone.pdf", ContentType = "application/pdf", Url = "https://files.example.org/gone.pdf" },
                ],
            },
        };
        var first = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None));
        var again = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None));
        Assert.Equal(first.NativeId, again.NativeId);
        Assert.Null(first.SenderNotice); // a plain link is nothing the sender must act on

        var messages = h.Sandbox.GetMessages(h.RoomId);
        Assert.Equal(2, messages.Count);
        var text = messages[0]["content"]!["body"]!.GetValue<string>();
        Assert.StartsWith("look at this", text, StringComparison.Ordinal);
        Assert.Contains("gone.pdf: https://files.example.org/gone.pdf", text, StringComparison.Ordinal);
        var image = messages[1]["content"]!;
        Assert.Equal("m.image", image["msgtype"]!.GetValue<string>());
        Assert.Equal(640, image["info"]!["w"]!.GetValue<int>());
        Assert.Equal(480, image["info"]!["h"]!.GetValue<int>());
        Assert.Equal("image/png", image["info"]!["mimetype"]!.GetValue<string>());
        Assert.Equal(Png.Length, image["info"]!["size"]!.GetValue<long>());
        var mxc = image["url"]!.GetValue<string>();
        Assert.StartsWith("mxc://localhost/", mxc, StringComparison.Ordinal);
        Assert.NotEqual(sourceMxc, mxc);
        Assert.Equal(Png, await DownloadAsAliceAsync(h, mxc));
    }

    [Fact]
    public async Task One_file_with_text_is_one_media_event_with_the_text_as_caption()
    {
        await using var h = await BridgeHarness.StartAsync();
        var sourceMxc = await UploadAsAliceAsync(h, Png, "image/png");
        var request = h.Request(80, "the new logo");
        request = request with
        {
            Event = request.Event with { Attachments = [new Attachment { Name = "logo.png", ContentType = "image/png", Source = new MediaSource(BridgeHarness.Network, sourceMxc) }] },
        };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None));

        var content = Assert.Single(h.Sandbox.GetMessages(h.RoomId))["content"]!;
        Assert.Equal("m.image", content["msgtype"]!.GetValue<string>());
        Assert.Equal("the new logo", content["body"]!.GetValue<string>());
        Assert.Equal("logo.png", content["filename"]!.GetValue<string>());
        Assert.Equal(Png, await DownloadAsAliceAsync(h, content["url"]!.GetValue<string>()));
    }

    [Fact]
    public async Task An_older_homeserver_without_authenticated_media_is_read_on_the_legacy_path()
    {
        await using var h = await BridgeHarness.StartAsync(sandboxOptions: o => o.AuthenticatedMedia = false);
        var sourceMxc = await UploadAsAliceAsync(h, Png, "image/png");
        var request = h.Request(81, "");
        request = request with
        {
            Event = request.Event with { Attachments = [new Attachment { Name = "old.png", ContentType = "image/png", Source = new MediaSource(BridgeHarness.Network, sourceMxc) }] },
        };
        var delivered = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None));
        Assert.Null(delivered.SenderNotice);

        var content = Assert.Single(h.Sandbox.GetMessages(h.RoomId))["content"]!;
        Assert.Equal("m.image", content["msgtype"]!.GetValue<string>());
        var copy = content["url"]!.GetValue<string>();
        Assert.Equal(Png, await h.Http.GetByteArrayAsync(new Uri(h.Sandbox.BaseUrl, "/_matrix/media/v3/download/" + copy["mxc://".Length..])));
    }

    [Fact]
    public async Task A_file_over_the_cap_leaves_a_notice_in_the_message_and_one_for_the_sender()
    {
        await using var h = await BridgeHarness.StartAsync(connectorOptions: o => o.MaxAttachmentBytes = 4);
        var sourceMxc = await UploadAsAliceAsync(h, Png, "image/png");
        var request = h.Request(82, "two tries");
        request = request with
        {
            Event = request.Event with
            {
                Attachments =
                [
                    // Announced too large: refused before anything is fetched.
                    new Attachment { Name = "big.png", ContentType = "image/png", Size = 5000, Source = new MediaSource(BridgeHarness.Network, sourceMxc) },
                    // Size unknown: found too large while reading.
                    new Attachment { Name = "unknown.png", ContentType = "image/png", Source = new MediaSource(BridgeHarness.Network, sourceMxc) },
                ],
            },
        };
        var delivered = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None));
        Assert.Contains("\"big.png\" was not delivered to network 'matrix': it is larger than its 4 bytes limit", delivered.SenderNotice, StringComparison.Ordinal);
        Assert.Contains("\"unknown.png\" was not delivered", delivered.SenderNotice, StringComparison.Ordinal);

        var body = Assert.Single(h.Sandbox.GetMessages(h.RoomId))["content"]!["body"]!.GetValue<string>();
        Assert.Contains("[file \"big.png\" not delivered: larger than the 4 bytes limit here]", body, StringComparison.Ordinal);
        Assert.Contains("[file \"unknown.png\" not delivered: larger than the 4 bytes limit here]", body, StringComparison.Ordinal);
        Assert.DoesNotContain("mxc://", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inbound_media_names_its_mxc_source_dimensions_and_caption_never_a_download_url()
    {
        await using var h = await BridgeHarness.StartAsync();
        var mxc = await UploadAsAliceAsync(h, Png, "image/png");
        var eventId = h.Sandbox.SendEvent(h.RoomId, h.Alice.UserId, "m.room.message", new JsonObject
        {
            ["msgtype"] = "m.image",
            ["body"] = "sunset over the harbour",
            ["filename"] = "sunset.png",
            ["url"] = mxc,
            ["info"] = new JsonObject { ["mimetype"] = "image/png", ["size"] = Png.Length, ["w"] = 1920, ["h"] = 1080 },
        });
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == eventId));

        var ev = h.Sink.Accepted.Single(e => e.NativeId == eventId);
        Assert.Equal("sunset over the harbour", ev.Text);
        var attachment = Assert.Single(ev.Attachments);
        Assert.Equal(new MediaSource(BridgeHarness.Network, mxc), attachment.Source);
        Assert.Null(attachment.Url);
        Assert.Equal(("sunset.png", "image/png", (long)Png.Length, 1920, 1080),
            (attachment.Name, attachment.ContentType, attachment.Size, attachment.Width!.Value, attachment.Height!.Value));

        // Read back through the connector as a destination would: the bytes, from the homeserver, authenticated.
        await using var file = await new MediaReader(Registry(h), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).ReadAsync(attachment, 1024, CancellationToken.None);
        Assert.Equal(Png, await file.ReadAllBytesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_reference_that_is_not_an_mxc_uri_of_the_grammar_is_never_fetched()
    {
        await using var h = await BridgeHarness.StartAsync();
        foreach (var reference in new[] { "https://evil.example/x", "mxc://localhost/../../_matrix/client/v3/account/whoami", "mxc://localhost/a?b", "mxc://evil.example@localhost/x" })
        {
            var e = await Assert.ThrowsAsync<MediaUnavailableException>(() => h.Connector.OpenMediaAsync(reference, CancellationToken.None));
            Assert.Equal(MediaFailure.Unavailable, e.Failure);
        }
    }

    private static ConnectorRegistry Registry(BridgeHarness h)
    {
        var registry = new ConnectorRegistry();
        registry.Add(h.Connector);
        return registry;
    }

    private static async Task<string> UploadAsAliceAsync(BridgeHarness h, byte[] data, string type)
    {
        using var upload = new HttpRequestMessage(HttpMethod.Post, new Uri(h.Sandbox.BaseUrl, "/_matrix/media/v3/upload?filename=src"))
        {
            Content = new ByteArrayContent(data),
        };
        upload.Headers.Authorization = new AuthenticationHeaderValue("Bearer", h.Alice.AccessToken);
        upload.Content.Headers.ContentType = new MediaTypeHeaderValue(type);
        using var uploaded = await h.Http.SendAsync(upload);
        return JsonNode.Parse(await uploaded.Content.ReadAsStringAsync())!["content_uri"]!.GetValue<string>();
    }

    private static async Task<byte[]> DownloadAsAliceAsync(BridgeHarness h, string mxc)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(h.Sandbox.BaseUrl, "/_matrix/client/v1/media/download/" + mxc["mxc://".Length..]));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", h.Alice.AccessToken);
        using var response = await h.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }
}
