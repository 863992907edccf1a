namespace Bridge.Core.Media;

/// <summary>
/// A file's bytes copied to a private temporary file (deleted when disposed), so that a destination can upload it with
/// its length known and re-send it on a retry without holding it in memory.
/// </summary>
public sealed class MediaFile : IAsyncDisposable
{
    private readonly FileStream _owner;

    private MediaFile(FileStream owner, long length, string contentType)
    {
        _owner = owner;
        Length = length;
        ContentType = contentType;
    }

    public long Length { get; }

    /// <summary>The type the attachment names, else the source server's, else <c>application/octet-stream</c>.</summary>
    public string ContentType { get; }

    /// <summary>A new read stream from the start (each upload attempt takes its own; disposing it keeps the file).</summary>
    public Stream OpenRead() =>
        new FileStream(_owner.Name, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 81920, FileOptions.Asynchronous);

    /// <summary>The whole file in memory (for APIs that take bytes; the cap bounds it).</summary>
    public async Task<byte[]> ReadAllBytesAsync(CancellationToken cancellationToken) => await File.ReadAllBytesAsync(_owner.Name, cancellationToken);

    public ValueTask DisposeAsync() => _owner.DisposeAsync();

    /// <summary>Copies <paramref name="source"/> until its end, failing as soon as more than <paramref name="maxBytes"/> arrived.</summary>
    internal static async Task<MediaFile> CopyAsync(Stream source, long maxBytes, string contentType, CancellationToken ct)
    {
        var path = Path.Combine(Path.GetTempPath(), "bridge-media-" + Guid.NewGuid().ToString("N"));
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            Options = FileOptions.DeleteOnClose | FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // other accounts never read a file in transit
        }
        var owner = new FileStream(path, options);
        try
        {
            var buffer = new byte[81920];
            long total = 0;
            int read;
            while ((read = await source.ReadAsync(buffer, ct)) > 0)
            {
                total += read;
                if (total > maxBytes)
                {
                    throw new MediaUnavailableException(MediaFailure.TooLarge, $"more than {maxBytes} bytes");
                }
                await owner.WriteAsync(buffer.AsMemory(0, read), ct);
            }
            await owner.FlushAsync(ct);
            return new MediaFile(owner, total, contentType);
        }
        catch
        {
            await owner.DisposeAsync();
            throw;
        }
    }
}
