using System.Net;
using System.Security.Cryptography;
using Bridge.Core.Connectors;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Xmpp.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Xmpp.Tests;

/// <summary>
/// Files on a real Prosody with <c>mod_http_file_share</c>: real slixmpp people upload through XEP-0363 and share with
/// XEP-0066; the connector reads only from the configured upload host and uploads as the puppet.
/// </summary>
public sealed class ProsodyFileTests(ProsodyUploadFixture fixture) : IClassFixture<ProsodyUploadFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly ProsodyServer _server = fixture.Server;

    private Dictionary<string, string?> FileHosts(long? max = null)
    {
        var extra = new Dictionary<string, string?> { ["fileHosts:0"] = _server.UploadHost };
        if (max is { } m)
        {
            extra["maxAttachmentBytes"] = m.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return extra;
    }

    [Fact]
    public async Task A_shared_upload_is_read_from_its_host_and_a_file_goes_out_through_a_slot_of_the_puppet_byte_exact()
    {
        var room = _server.NewRoom("files");
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room], extra: FileHosts());
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("gina");
        await using var gina = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Gina");
        var data = RandomNumberGenerator.GetBytes(20_000);

        // In: a person uploads as her client does and shares the URL (body = URL, plus the out-of-band element).
        var url = await gina.UploadAsync(_server.UploadDomain, "report.pdf", "application/pdf", data);
        Assert.StartsWith($"http://{_server.UploadHost}/", url, StringComparison.Ordinal);
        await gina.ShareFileAsync(url);
        var ev = (await bridge.Sink.WaitForAsync(e => e.Attachments.Count > 0, 1, Wait))[0];
        Assert.Equal("", ev.Text); // the URL repeated in the body is the file, not text
        var attachment = Assert.Single(ev.Attachments);
        Assert.Equal(new MediaSource(ConnectorHarness.NetworkId, url), attachment.Source);
        Assert.Equal(("report.pdf", "application/pdf"), (attachment.Name, attachment.ContentType));
        Assert.Null(attachment.Url);
        await using (var read = await new MediaReader(bridge.Registry, NullLogger.Instance).ReadAsync(attachment, 1 << 20, CancellationToken.None))
        {
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(await read.ReadAllBytesAsync(CancellationToken.None)));
        }

        // Out: the same file from another network's person is uploaded again, by the puppet, and shared the same way.
        var request = ConnectorHarness.Message(501, room, "Hal", "");
        request = request with { Event = request.Event with { Attachments = [attachment] } };
        var delivered = Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(request, CancellationToken.None));
        Assert.Null(delivered.SenderNotice);
        var got = (await gina.WaitForMessagesAsync(m => m.FromNick == "Hal", 1, Wait))[0];
        var copy = Assert.Single(got.Oob!);
        Assert.Equal(copy, got.Body); // one file alone: the body is its URL, so clients show it inline
        Assert.StartsWith($"http://{_server.UploadHost}/", copy, StringComparison.Ordinal);
        Assert.NotEqual(url, copy);
        using var http = new HttpClient();
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await http.GetByteArrayAsync(copy)));
        Assert.Contains(bridge.Logs.Entries, e => e.EventId == XmppLog.UploadService && e.Message.Contains(_server.UploadDomain) && e.Message.Contains(ProsodyUploadFixture.SizeLimit.ToString()));
    }

    [Fact]
    public async Task A_link_to_a_host_that_is_not_configured_stays_a_link_and_is_never_fetched()
    {
        var requests = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        await using var elsewhere = builder.Build();
        elsewhere.MapGet("/{**path}", () =>
        {
            Interlocked.Increment(ref requests);
            return Results.Bytes([1, 2, 3], "image/png");
        });
        await elsewhere.StartAsync();
        var url = elsewhere.Urls.First() + "/internal/cat.png";

        var room = _server.NewRoom("links");
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room], extra: FileHosts());
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("ivan");
        await using var ivan = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Ivan");
        await ivan.ShareFileAsync(url);
        var ev = (await bridge.Sink.WaitForAsync(e => e.Attachments.Count > 0, 1, Wait))[0];
        var attachment = Assert.Single(ev.Attachments);
        Assert.Null(attachment.Source);
        Assert.Equal(url, attachment.Url);
        var refused = await Assert.ThrowsAsync<MediaUnavailableException>(() => bridge.Xmpp.OpenMediaAsync(url, CancellationToken.None));
        Assert.Equal(MediaFailure.NotFetchable, refused.Failure);

        // Delivered to XMPP from elsewhere it stays the sender's link: no upload, no out-of-band file.
        var request = ConnectorHarness.Message(502, room, "Jo", "see");
        request = request with { Event = request.Event with { Attachments = [attachment] } };
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(request, CancellationToken.None));
        var got = (await ivan.WaitForMessagesAsync(m => m.FromNick == "Jo", 1, Wait))[0];
        Assert.Equal($"see\ncat.png: {url}", got.Body);
        Assert.Empty(got.Oob!);
        Assert.Equal(0, Volatile.Read(ref requests));
    }

    [Fact]
    public async Task A_file_over_the_cap_leaves_a_notice_in_the_room_and_tells_the_sender()
    {
        var room = _server.NewRoom("caps");
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room], extra: FileHosts(max: 1000));
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("kim");
        await using var kim = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Kim");
        var url = await kim.UploadAsync(_server.UploadDomain, "big.bin", "application/octet-stream", new byte[5000]);
        var attachment = new Attachment { Name = "big.bin", ContentType = "application/octet-stream", Source = new MediaSource(ConnectorHarness.NetworkId, url) };

        var request = ConnectorHarness.Message(503, room, "Lee", "too big?");
        request = request with { Event = request.Event with { Attachments = [attachment] } };
        var delivered = Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(request, CancellationToken.None));
        Assert.Equal("Your file \"big.bin\" was not delivered to network 'xmpp-a': it is larger than its 1000 bytes limit.", delivered.SenderNotice);
        var got = (await kim.WaitForMessagesAsync(m => m.FromNick == "Lee", 1, Wait))[0];
        Assert.Equal("too big?\n[file \"big.bin\" not delivered: larger than the 1000 bytes limit here]", got.Body);
        Assert.Empty(got.Oob!);
    }
}
