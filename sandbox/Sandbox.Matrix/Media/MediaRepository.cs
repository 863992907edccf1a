namespace Sandbox.Matrix.Media;

/// <summary>Uploaded content, addressed by <c>mxc://server/mediaId</c>.</summary>
internal sealed class MediaRepository
{
    private readonly object _gate = new();
    private readonly Dictionary<string, StoredMedia> _media = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _downloads = new(StringComparer.Ordinal);

    /// <summary>Counts one download request for <paramref name="mediaId"/> (found or not): how often clients asked.</summary>
    public void CountDownload(string mediaId)
    {
        lock (_gate)
        {
            _downloads[mediaId] = _downloads.GetValueOrDefault(mediaId) + 1;
        }
    }

    public int Downloads(string mediaId)
    {
        lock (_gate)
        {
            return _downloads.GetValueOrDefault(mediaId);
        }
    }

    public string Add(byte[] data, string contentType, string? fileName)
    {
        var id = Http.Ids.MediaId();
        lock (_gate)
        {
            _media[id] = new StoredMedia(data, contentType, fileName);
        }

        return id;
    }

    public StoredMedia? Get(string mediaId)
    {
        lock (_gate)
        {
            return _media.GetValueOrDefault(mediaId);
        }
    }
}

internal sealed record StoredMedia(byte[] Data, string ContentType, string? FileName);
