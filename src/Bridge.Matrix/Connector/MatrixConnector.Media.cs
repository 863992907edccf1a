using Bridge.Core.Media;
using Bridge.Matrix.Client;
using Microsoft.Extensions.Logging;

namespace Bridge.Matrix.Connector;

/// <summary>
/// Media posted here, served to the other networks through the core: the <c>mxc://</c> URI is fetched from the configured
/// homeserver only (which fetches remote servers' media itself), with the appservice token.
/// </summary>
public sealed partial class MatrixConnector : IMediaSource
{
    public async Task<MediaDownload> OpenMediaAsync(string reference, CancellationToken cancellationToken)
    {
        if (!MxcUri.TryParse(reference, out var serverName, out var mediaId))
        {
            throw new MediaUnavailableException(MediaFailure.Unavailable, "not an mxc:// URI");
        }
        HttpResponseMessage response;
        try
        {
            response = await Client.OpenMediaAsync(serverName, mediaId, cancellationToken);
        }
        catch (MatrixApiException e)
        {
            _logger.LogWarning(MatrixLog.MediaNotServed, "Media {Mxc} not served by the homeserver: {Error}", reference, e.Message);
            throw new MediaUnavailableException(MediaFailure.Unavailable, $"the homeserver answered {(int)e.Status} {e.ErrCode}", e);
        }
        return await MediaDownload.FromResponseAsync(response, cancellationToken);
    }
}

/// <summary>The two parts of an <c>mxc://server/id</c> URI, as the spec's grammar allows them (nothing that could leave the path).</summary>
internal static class MxcUri
{
    public static bool TryParse(string uri, out string serverName, out string mediaId)
    {
        serverName = mediaId = "";
        if (!uri.StartsWith("mxc://", StringComparison.Ordinal))
        {
            return false;
        }
        var rest = uri["mxc://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == rest.Length - 1)
        {
            return false;
        }
        serverName = rest[..slash];
        mediaId = rest[(slash + 1)..];
        // Server name: host[:port] (letters, digits, '-', '.', ':', '[', ']'); media id: [A-Za-z0-9_-]+.
        return serverName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or ':' or '[' or ']')
               && mediaId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
    }
}
