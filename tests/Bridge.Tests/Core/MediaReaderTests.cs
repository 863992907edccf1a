using Bridge.Core.Connectors;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Core;

/// <summary>The core's media path: dispatch to the source connector, the cap before and while reading, and the notices.</summary>
public sealed class MediaReaderTests
{
    [Fact]
    public async Task The_bytes_come_from_the_source_networks_connector_and_the_named_type_wins()
    {
        var source = new ServingConnector("mm", new byte[300], announcedLength: 300, servedType: "application/octet-stream");
        var reader = Reader(source);
        await using var file = await reader.ReadAsync(Attachment("mm", "a.png", "image/png"), 300, CancellationToken.None);
        Assert.Equal(300, file.Length);
        Assert.Equal("image/png", file.ContentType);
        Assert.Equal(new byte[300], await file.ReadAllBytesAsync(CancellationToken.None));
        Assert.Equal(["ref"], source.Opened);
    }

    [Fact]
    public async Task An_announced_size_over_the_cap_is_refused_before_anything_is_opened()
    {
        var source = new ServingConnector("mm", new byte[10]);
        var e = await Assert.ThrowsAsync<MediaUnavailableException>(() =>
            Reader(source).ReadAsync(Attachment("mm", "a.bin", "", size: 101), 100, CancellationToken.None));
        Assert.Equal(MediaFailure.TooLarge, e.Failure);
        Assert.Empty(source.Opened);
    }

    [Theory]
    [InlineData(true)]  // the server's Content-Length says so
    [InlineData(false)] // found while reading: no length announced anywhere
    public async Task A_file_over_the_cap_is_too_large_however_it_is_found(bool announced)
    {
        var source = new ServingConnector("mm", new byte[101], announcedLength: announced ? 101 : null);
        var e = await Assert.ThrowsAsync<MediaUnavailableException>(() => Reader(source).ReadAsync(Attachment("mm", "a.bin", ""), 100, CancellationToken.None));
        Assert.Equal(MediaFailure.TooLarge, e.Failure);
        Assert.Equal("application/octet-stream", (await Reader(source).ReadAsync(Attachment("mm", "b.bin", ""), 101, CancellationToken.None)).ContentType);
    }

    [Fact]
    public async Task No_source_or_a_network_that_serves_no_files_is_never_fetched()
    {
        var link = new Attachment { Name = "x", ContentType = "", Url = "http://10.0.0.1/internal" };
        Assert.Equal(MediaFailure.NotFetchable, (await Assert.ThrowsAsync<MediaUnavailableException>(() =>
            Reader(new ServingConnector("mm", [])).ReadAsync(link, 100, CancellationToken.None))).Failure);

        var registry = new ConnectorRegistry();
        registry.Add(new FakeConnector("xmpp"));
        Assert.Equal(MediaFailure.Unavailable, (await Assert.ThrowsAsync<MediaUnavailableException>(() =>
            new MediaReader(registry, NullLogger.Instance).ReadAsync(Attachment("xmpp", "a", ""), 100, CancellationToken.None))).Failure);
        Assert.Equal(MediaFailure.Unavailable, (await Assert.ThrowsAsync<MediaUnavailableException>(() =>
            new MediaReader(registry, NullLogger.Instance).ReadAsync(Attachment("gone", "a", ""), 100, CancellationToken.None))).Failure);
    }

    [Theory]
    [InlineData(104857600, "100 MB")]
    [InlineData(30000, "29.3 KB")]
    [InlineData(1000, "1000 bytes")]
    [InlineData(1073741824, "1 GB")]
    public void Sizes_read_as_servers_count_them(long bytes, string shown) => Assert.Equal(shown, AttachmentNotice.Size(bytes));

    private static Attachment Attachment(string network, string name, string type, long size = 0) =>
        new() { Name = name, ContentType = type, Size = size, Source = new MediaSource(network, "ref") };

    private static MediaReader Reader(INetworkConnector source)
    {
        var registry = new ConnectorRegistry();
        registry.Add(source);
        return new MediaReader(registry, NullLogger.Instance);
    }

    /// <summary>A source network whose connector serves one file from memory.</summary>
    private sealed class ServingConnector(string networkId, byte[] data, long? announcedLength = null, string? servedType = null) : INetworkConnector, IMediaSource
    {
        public List<string> Opened { get; } = [];
        public string NetworkId { get; } = networkId;
        public NetworkKind Kind => NetworkKind.Mattermost;
        public bool IsReady => true;

        public Task<MediaDownload> OpenMediaAsync(string reference, CancellationToken cancellationToken)
        {
            Opened.Add(reference);
            return Task.FromResult(new MediaDownload(new MemoryStream(data), servedType, announcedLength));
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken) => Task.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
