using System.Collections.Concurrent;
using Bridge.Core.Connectors;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Core.Profiles;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Core;

/// <summary>
/// Pictures through the core's media path: one read per version for every destination, only raster images, and a
/// picture that cannot be read asked for again only after a backoff that grows, with one warning.
/// </summary>
public sealed class AvatarReaderTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4];

    [Fact]
    public async Task One_version_is_read_once_for_every_destination_and_a_new_version_once_more()
    {
        var source = new PictureSource("mm", Png, "image/png");
        var (reader, _, _) = Reader(source);
        var reads = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => reader.ReadAsync(Ref("1"), CancellationToken.None)));
        Assert.All(reads, r => Assert.Equal(Png, r!.Bytes));
        Assert.Equal("image/png", reads[0]!.ContentType);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Png)), reads[0]!.Sha256);
        Assert.Equal(1, source.Opened);

        Assert.NotNull(await reader.ReadAsync(Ref("2"), CancellationToken.None));
        Assert.Equal(2, source.Opened);
    }

    [Theory]
    [InlineData("image/svg+xml", "<svg xmlns='http://www.w3.org/2000/svg'/>")] // active content, whatever it is called
    [InlineData("image/png", "not a picture at all")]                           // the claim is not the bytes
    [InlineData("text/html", "\u0089PNG\r\n\u001a\n....")]                       // the server did not say image
    public async Task Only_png_jpeg_gif_and_webp_bytes_served_as_images_cross(string type, string body)
    {
        var source = new PictureSource("mm", System.Text.Encoding.Latin1.GetBytes(body), type);
        var (reader, _, _) = Reader(source);
        Assert.Null(await reader.ReadAsync(Ref("1"), CancellationToken.None));
    }

    [Fact]
    public async Task A_picture_over_the_cap_does_not_cross()
    {
        var big = new byte[2000];
        Png.CopyTo(big, 0);
        var (reader, _, _) = Reader(new PictureSource("mm", big, "image/png"), maxBytes: 1000);
        Assert.Null(await reader.ReadAsync(Ref("1"), CancellationToken.None));
    }

    [Fact]
    public async Task A_failing_picture_is_asked_for_after_a_growing_backoff_and_warned_about_once()
    {
        var source = new PictureSource("mm", Png, "image/png") { Fail = true };
        var (reader, time, log) = Reader(source);
        for (var i = 0; i < 10; i++)
        {
            Assert.Null(await reader.ReadAsync(Ref("1"), CancellationToken.None)); // ten messages
        }
        Assert.Equal(1, source.Opened);

        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Null(await reader.ReadAsync(Ref("1"), CancellationToken.None));
        Assert.Equal(2, source.Opened);

        time.Advance(TimeSpan.FromSeconds(61)); // the second failure waits two minutes
        Assert.Null(await reader.ReadAsync(Ref("1"), CancellationToken.None));
        Assert.Equal(2, source.Opened);

        source.Fail = false;
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.NotNull(await reader.ReadAsync(Ref("1"), CancellationToken.None));
        Assert.Equal(3, source.Opened);
        Assert.Single(log.Entries, e => e.Level == LogLevel.Warning);

        Assert.Equal(TimeSpan.FromHours(6), AvatarReader.Backoff(30));
    }

    [Fact]
    public async Task Whatever_a_source_throws_costs_only_the_picture()
    {
        var source = new PictureSource("mm", Png, "image/png") { Throw = true };
        var (reader, time, _) = Reader(source);
        Assert.Null(await reader.ReadAsync(Ref("1"), CancellationToken.None)); // not an exception that fails the message
        source.Throw = false;
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.NotNull(await reader.ReadAsync(Ref("1"), CancellationToken.None)); // and nothing broken stays cached
    }

    [Fact]
    public async Task Failures_remembered_stay_bounded_however_many_pictures_fail()
    {
        var source = new PictureSource("mm", Png, "image/png") { Throw = true };
        var registry = new ConnectorRegistry();
        registry.Add(source);
        var reader = new AvatarReader(new MediaReader(registry, NullLogger.Instance), new ManualTime(), NullLogger.Instance, maxFailures: 50);
        for (var i = 0; i < 180; i++)
        {
            Assert.Null(await reader.ReadAsync(Ref("v" + i), CancellationToken.None));
        }

        Assert.InRange(reader.RememberedFailures, 1, 50);
    }

    private static AvatarRef Ref(string version) => new(new MediaSource("mm", "avatar:u1"), version);

    private static (AvatarReader Reader, ManualTime Time, CountingLogger Log) Reader(PictureSource source, long maxBytes = AvatarReader.DefaultMaxBytes)
    {
        var registry = new ConnectorRegistry();
        registry.Add(source);
        var time = new ManualTime();
        var log = new CountingLogger();
        return (new AvatarReader(new MediaReader(registry, NullLogger.Instance), time, log, maxBytes), time, log);
    }

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    private sealed class CountingLogger : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));
    }

    /// <summary>A network whose connector serves one picture from memory, or refuses like a server answering 404.</summary>
    private sealed class PictureSource(string networkId, byte[] data, string type) : INetworkConnector, IMediaSource
    {
        private int _opened;

        public int Opened => Volatile.Read(ref _opened);
        public bool Fail { get; set; }
        public bool Throw { get; set; }
        public string NetworkId { get; } = networkId;
        public NetworkKind Kind => NetworkKind.Mattermost;
        public bool IsReady => true;

        public async Task<MediaDownload> OpenMediaAsync(string reference, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _opened);
            await Task.Delay(20, cancellationToken); // long enough for concurrent readers to meet
            if (Throw)
            {
                throw new InvalidOperationException("a connector bug");
            }
            return Fail
                ? throw new MediaUnavailableException(MediaFailure.Unavailable, "404")
                : new MediaDownload(new MemoryStream(data), type, data.Length);
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken) => Task.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
