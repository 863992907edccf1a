using System.Security.Cryptography;
using Bridge.Core.Connectors;
using Bridge.Core.Media;
using Bridge.Xmpp.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Xmpp.Tests;

/// <summary>Files on a real ejabberd with <c>mod_http_upload</c>: the same XEP-0363 and XEP-0066 path as on Prosody.</summary>
public sealed class EjabberdFileTests(EjabberdUploadFixture fixture) : IClassFixture<EjabberdUploadFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly EjabberdServer _server = fixture.Server;

    [Fact]
    public async Task A_shared_upload_is_read_from_its_host_and_a_file_goes_out_through_a_slot_of_the_puppet_byte_exact()
    {
        var room = _server.NewRoom("files");
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room], extra: new Dictionary<string, string?> { ["fileHosts:0"] = _server.UploadHost });
        await bridge.WaitReadyAsync(TimeSpan.FromSeconds(30));
        var jid = await _server.NewUserAsync("nora");
        await using var nora = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Nora");
        var data = RandomNumberGenerator.GetBytes(12_345);

        var url = await nora.UploadAsync(_server.UploadDomain, "minutes.pdf", "application/pdf", data);
        Assert.StartsWith($"http://{_server.UploadHost}/upload/", url, StringComparison.Ordinal);
        await nora.ShareFileAsync(url);
        var ev = (await bridge.Sink.WaitForAsync(e => e.Attachments.Count > 0, 1, Wait))[0];
        var attachment = Assert.Single(ev.Attachments);
        Assert.Equal(new MediaSource(ConnectorHarness.NetworkId, url), attachment.Source);
        await using (var read = await new MediaReader(bridge.Registry, NullLogger.Instance).ReadAsync(attachment, 1 << 20, CancellationToken.None))
        {
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(await read.ReadAllBytesAsync(CancellationToken.None)));
        }

        var request = ConnectorHarness.Message(601, room, "Otto", "the minutes");
        request = request with { Event = request.Event with { Attachments = [attachment] } };
        var delivered = Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(request, CancellationToken.None));
        Assert.Null(delivered.SenderNotice);
        var got = (await nora.WaitForMessagesAsync(m => m.FromNick == "Otto", 1, Wait))[0];
        var copy = Assert.Single(got.Oob!);
        Assert.Equal($"the minutes\n{copy}", got.Body);
        Assert.NotEqual(url, copy);
        using var http = new HttpClient();
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await http.GetByteArrayAsync(copy)));
    }
}
