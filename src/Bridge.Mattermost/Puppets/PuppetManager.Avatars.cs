using Bridge.Core.Model;
using Bridge.Core.Profiles;
using Bridge.Mattermost.Api;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost.Puppets;

/// <summary>
/// A puppet's picture follows its person's: read once per picture version through the core (<see cref="AvatarReader"/>),
/// uploaded with <c>POST /api/v4/users/{puppet}/image</c> (the admin token: edit_other_users) unless the same bytes are
/// already there. The version applied is stored with the puppet, so a restart does not upload it again.
/// </summary>
internal sealed partial class PuppetManager
{
    private static readonly EventId AvatarSet = new(4303, nameof(AvatarSet));
    private static readonly EventId AvatarRefused = new(4304, nameof(AvatarRefused));

    /// <summary>Where pictures are read from; null: pictures never cross (tools, tests without a media path).</summary>
    public AvatarReader? Avatars { get; init; }

    private async Task<PuppetRecord> FollowAvatarAsync(PersonRef person, PuppetRecord rec, string adminToken, CancellationToken ct)
    {
        if (person.Avatar is null && person.AvatarRemoved)
        {
            return await RemoveAvatarAsync(person, rec, adminToken, ct);
        }
        if (person.Avatar is not { } avatar || avatar.Key == rec.AvatarUrl || Avatars is null)
        {
            return rec;
        }
        var image = await Avatars.ReadAsync(avatar, ct);
        if (image is null)
        {
            return rec; // the reader logged why, once, and asks again only after its backoff
        }
        if (image.Sha256 != rec.AvatarHash)
        {
            try
            {
                await _api.SetProfileImageAsync(rec.UserId, image.Bytes, image.ContentType, image.FileName, adminToken, ct);
                _logger.LogInformation(AvatarSet, "Picture of @{Username} set ({Bytes} bytes, {Type})", rec.Username, image.Bytes.Length, image.ContentType);
            }
            catch (MattermostApiException e) when ((int)e.Status is >= 400 and < 500 && e.Status != System.Net.HttpStatusCode.TooManyRequests)
            {
                // Refused for good (not an image the server decodes, too large): remembered, so not tried per message.
                _logger.LogWarning(AvatarRefused, "Picture of @{Username} refused by Mattermost: {Error}", rec.Username, e.Message);
                return await SaveAsync(person.Key, rec with { AvatarUrl = avatar.Key }, ct);
            }
            catch (Exception e) when (e is MattermostApiException or HttpRequestException || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                // The server is failing for now: the message goes without the picture, which is tried with the next one.
                _logger.LogInformation(AvatarRefused, "Picture of @{Username} not set for now: {Error}", rec.Username, e.Message);
                return rec;
            }
        }
        return await SaveAsync(person.Key, rec with { AvatarUrl = avatar.Key, AvatarHash = image.Sha256 }, ct);
    }

    /// <summary>The person removed their picture: the puppet goes back to the server's drawn one, once.</summary>
    private async Task<PuppetRecord> RemoveAvatarAsync(PersonRef person, PuppetRecord rec, string adminToken, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(rec.AvatarUrl) && rec.AvatarHash is null)
        {
            return rec;
        }
        try
        {
            await _api.ResetProfileImageAsync(rec.UserId, adminToken, ct);
            _logger.LogInformation(AvatarSet, "Picture of @{Username} removed, as its person removed theirs", rec.Username);
        }
        catch (MattermostApiException e) when (!e.IsTransient)
        {
            // Refused for good (403 without edit_other_users, 501 without a file store): said once, not asked per message.
            // An error: the removal may be the policy's (pictures withheld toward this network), not only the person's.
            _logger.LogError(AvatarRefused, "Picture of @{Username} cannot be removed on Mattermost: {Error}", rec.Username, e.Message);
        }
        catch (Exception e) when (e is MattermostApiException or HttpRequestException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            _logger.LogInformation(AvatarRefused, "Picture of @{Username} not removed for now: {Error}", rec.Username, e.Message);
            return rec; // tried again with the person's next message
        }
        return await SaveAsync(person.Key, rec with { AvatarUrl = null, AvatarHash = null }, ct);
    }
}
