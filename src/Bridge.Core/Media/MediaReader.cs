using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Media;

/// <summary>
/// The core's media path: a destination names the attachment and its own cap; the attachment's source connector
/// opens the bytes; the cap is checked against what the attachment and the server announce, then while copying.
/// </summary>
public sealed class MediaReader(ConnectorRegistry connectors, ILogger logger) : IMediaReader
{
    public async Task<MediaFile> ReadAsync(Attachment attachment, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        if (attachment.Source is not { } source)
        {
            throw new MediaUnavailableException(MediaFailure.NotFetchable, "the file has no source the bridge may fetch from");
        }
        if (attachment.Size > maxBytes)
        {
            throw new MediaUnavailableException(MediaFailure.TooLarge, $"{attachment.Size} bytes announced, the cap is {maxBytes}");
        }
        if (connectors.Find(source.NetworkId) is not IMediaSource origin)
        {
            throw new MediaUnavailableException(MediaFailure.Unavailable, $"network '{source.NetworkId}' serves no files");
        }

        try
        {
            await using var download = await origin.OpenMediaAsync(source.Reference, cancellationToken);
            if (download.Length > maxBytes)
            {
                throw new MediaUnavailableException(MediaFailure.TooLarge, $"{download.Length} bytes served, the cap is {maxBytes}");
            }
            var type = attachment.ContentType is { Length: > 0 } named ? named : download.ContentType is { Length: > 0 } served ? served : "application/octet-stream";
            return await MediaFile.CopyAsync(download.Content, maxBytes, type, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogInformation(MediaLog.FetchFailed, "File {Name} from {Network} not read: {Error}", attachment.Name, source.NetworkId, e.Message);
            throw new MediaUnavailableException(MediaFailure.Unavailable, e.Message, e);
        }
    }
}

/// <summary>A reader for contexts without a media path (tools, unit tests): every file is unavailable.</summary>
public sealed class NoMediaReader : IMediaReader
{
    public static NoMediaReader Instance { get; } = new();

    public Task<MediaFile> ReadAsync(Attachment attachment, long maxBytes, CancellationToken cancellationToken) =>
        Task.FromException<MediaFile>(new MediaUnavailableException(MediaFailure.Unavailable, "no media path in this context"));
}

internal static class MediaLog
{
    public static readonly EventId FetchFailed = new(1901, nameof(FetchFailed));
}
