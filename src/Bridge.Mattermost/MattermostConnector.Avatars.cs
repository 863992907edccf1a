using System.Globalization;
using Bridge.Core.Media;
using Bridge.Core.Profiles;
using Bridge.Mattermost.Api;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost;

/// <summary>
/// People's pictures here, for the other networks: <c>GET /api/v4/users/{id}/image</c> on this server only, with the
/// bridge account's token; a new picture is seen by its <c>last_picture_update</c> (the user record, refreshed by
/// <c>user_updated</c>). A person with the server's drawn default (no <c>last_picture_update</c>) has no picture to cross.
/// </summary>
public sealed partial class MattermostConnector
{
    private const string AvatarPrefix = "avatar:";

    private AvatarRef? AvatarOf(MmUser? user) =>
        user is { LastPictureUpdate: > 0 } && IsFileId(user.Id)
            ? new AvatarRef(new MediaSource(_network.Id, AvatarPrefix + user.Id), user.LastPictureUpdate.ToString(CultureInfo.InvariantCulture))
            : null;

    private static bool IsAvatarReference(string reference) =>
        reference.StartsWith(AvatarPrefix, StringComparison.Ordinal) && IsFileId(reference[AvatarPrefix.Length..]);

    private async Task<MediaDownload> OpenAvatarAsync(string reference, CancellationToken cancellationToken)
    {
        var userId = reference[AvatarPrefix.Length..];
        HttpResponseMessage response;
        try
        {
            response = await _api.OpenUserImageAsync(userId, AdminToken, cancellationToken);
        }
        catch (MattermostApiException e)
        {
            _logger.LogInformation(MattermostLog.MediaServed, "Picture of {UserId} not served by Mattermost: {Error}", userId, e.Message);
            throw new MediaUnavailableException(MediaFailure.Unavailable, $"Mattermost answered {(int)e.Status}", e);
        }
        return await MediaDownload.FromResponseAsync(response, cancellationToken);
    }
}
