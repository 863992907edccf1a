namespace Bridge.Core.Media;

/// <summary>
/// A connector whose network holds files other networks receive: it opens the bytes of one of its own references.
/// Implementations fetch only from their own configured server, with their own credentials, and never follow a
/// reference to anywhere else (a reference is data from the network, not a place the bridge may be sent to).
/// </summary>
public interface IMediaSource
{
    /// <summary>
    /// Opens <paramref name="reference"/> for reading. Throws <see cref="MediaUnavailableException"/> when the server
    /// refuses or does not have it, or the reference is not one of this network's.
    /// </summary>
    Task<MediaDownload> OpenMediaAsync(string reference, CancellationToken cancellationToken);
}

/// <summary>An open download: its bytes as they arrive, with what the server said of them, and what to dispose after.</summary>
public sealed class MediaDownload(Stream content, string? contentType, long? length, IDisposable? owner = null) : IAsyncDisposable
{
    public Stream Content { get; } = content;

    /// <summary>The body of a successful HTTP answer as a download that owns (and disposes) the answer.</summary>
    public static async Task<MediaDownload> FromResponseAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var content = response.Content;
        return new MediaDownload(await content.ReadAsStreamAsync(cancellationToken), content.Headers.ContentType?.MediaType, content.Headers.ContentLength, response);
    }

    /// <summary>The server's content type (without parameters), if it named one.</summary>
    public string? ContentType { get; } = contentType;

    /// <summary>The server's Content-Length, if it sent one (checked against the cap before reading).</summary>
    public long? Length { get; } = length;

    public async ValueTask DisposeAsync()
    {
        await Content.DisposeAsync();
        owner?.Dispose();
    }
}
