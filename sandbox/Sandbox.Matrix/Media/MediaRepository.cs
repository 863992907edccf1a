namespace Sandbox.Matrix.Media;

/// <summary>Uploaded content, addressed by <c>mxc://server/mediaId</c>.</summary>
internal sealed class MediaRepository
{
    private readonly object _gate = new();
    private readonly Dictionary<string, StoredMedia> _media = new(StringComparer.Ordinal);

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
