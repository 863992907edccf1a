using System.Net;
using Bridge.Core.Media;
using Bridge.Mattermost.Api;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost;

/// <summary>
/// Files posted here, served to the other networks through the core: <c>GET /api/v4/files/{id}</c> on this server only,
/// with the bridge account's token (the server answers 403 unless that account may read the file's channel).
/// </summary>
public sealed partial class MattermostConnector : IMediaSource
{
    public async Task<MediaDownload> OpenMediaAsync(string reference, CancellationToken cancellationToken)
    {
        if (IsAvatarReference(reference))
        {
            return await OpenAvatarAsync(reference, cancellationToken);
        }
        // References are file ids this connector put on its own inbound events; anything else is not one of ours.
        if (!IsFileId(reference))
        {
            throw new MediaUnavailableException(MediaFailure.Unavailable, "not a Mattermost file id");
        }
        HttpResponseMessage response;
        try
        {
            response = await _api.OpenFileAsync(reference, AdminToken, cancellationToken);
        }
        catch (MattermostApiException e)
        {
            _logger.LogWarning(MattermostLog.MediaServed, "File {File} not served by Mattermost: {Error}", reference, e.Message);
            throw new MediaUnavailableException(MediaFailure.Unavailable, $"Mattermost answered {(int)e.Status}", e);
        }
        return await MediaDownload.FromResponseAsync(response, cancellationToken);
    }

    /// <summary>Mattermost ids are 26 characters of lower-case base32 (a-z, 0-9).</summary>
    private static bool IsFileId(string id) => id.Length == 26 && id.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9');
}
