using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Core.Profiles;
using Bridge.Matrix.Client;
using Microsoft.Extensions.Logging;

namespace Bridge.Matrix.Connector;

/// <summary>
/// Pictures in both directions. A Matrix person's picture is the <c>avatar_url</c> of their <c>m.room.member</c> event (or
/// their profile, asked once when no member event was seen); its <c>mxc://</c> URI is both the reference the core reads
/// it by (this homeserver only, authenticated media) and its version. A puppet's picture is read through the core once
/// per version, uploaded to the media repository as the puppet, and set as its profile <c>avatar_url</c> (which the
/// homeserver copies into its member events); the version applied is stored, so a restart does not upload it again.
/// </summary>
public sealed partial class MatrixConnector
{
    private static readonly EventId AvatarSet = new(3050, "MatrixAvatarSet");
    private static readonly EventId AvatarNotSet = new(3051, "MatrixAvatarNotSet");

    /// <summary>User id → their current mxc URI ("" for none, <see cref="AvatarUnknown"/> after a failed look-up), from member events and profile look-ups.</summary>
    private readonly ConcurrentDictionary<string, string> _avatarUrls = new(StringComparer.Ordinal);

    /// <summary>
    /// A member event without a picture may be one room's own (a room nickname set without it, a per-room picture
    /// cleared): it is checked against the person's profile before their puppets lose theirs.
    /// </summary>
    private void RememberAvatar(string userId, JsonObject memberContent) =>
        _avatarUrls[userId] = Formatting.JsonStrings.Of(memberContent["avatar_url"]) is { } mxc && MxcUri.TryParse(mxc, out _, out _) ? mxc : AvatarToCheck;

    /// <summary>A member event showed none: the profile says whether the person removed theirs.</summary>
    private const string AvatarToCheck = "!";

    private const string AvatarUnknown = "?";

    /// <summary>The person's picture, and whether they are known to have none (a member event or profile without one).</summary>
    private async Task<(AvatarRef? Avatar, bool Removed)> AvatarOfAsync(string userId, CancellationToken ct)
    {
        if (!_avatarUrls.TryGetValue(userId, out var mxc) || mxc == AvatarToCheck)
        {
            try
            {
                mxc = await Client.GetAvatarUrlAsync(userId, ct) ?? "";
            }
            catch (Exception ex) when (ex is MatrixApiException or HttpRequestException)
            {
                mxc = AvatarUnknown; // refreshed by the person's next member event; their puppets keep what they show
            }
            mxc = mxc == AvatarUnknown || MxcUri.TryParse(mxc, out _, out _) ? mxc : "";
            _avatarUrls[userId] = mxc;
        }
        return mxc switch
        {
            AvatarUnknown => (null, false),
            "" => (null, true),
            _ => (new AvatarRef(new MediaSource(NetworkId, mxc), mxc), false),
        };
    }

    /// <summary>Gives the puppet its person's picture when it changed; a picture that cannot cross only costs the picture.</summary>
    private async Task SyncAvatarAsync(PersonRef person, string localpart, string userId, CancellationToken ct)
    {
        if (person.Avatar is null && !person.AvatarRemoved)
        {
            return; // nothing known: the puppet keeps what it shows
        }

        var key = localpart + "|avatar";
        if (!_puppetNames.TryGetValue(key, out var current))
        {
            current = await _context.State.GetAsync(PuppetScope, key, ct) ?? "";
            _puppetNames[key] = current;
        }
        if (person.Avatar is not { } avatar)
        {
            await RemoveAvatarAsync(key, current, userId, ct);
            return;
        }
        if (current == avatar.Key)
        {
            return;
        }

        var image = await _context.Avatars.ReadAsync(avatar, ct);
        if (image is null)
        {
            return; // the reader logged why, once, and asks again only after its backoff
        }

        try
        {
            var mxc = await Client.UploadAsync(image.Bytes, image.ContentType, image.FileName, userId, ct);
            await Client.SetAvatarUrlAsync(userId, mxc, ct);
            _logger.LogInformation(AvatarSet, "Picture of {Puppet} set ({Bytes} bytes, {Type})", userId, image.Bytes.Length, image.ContentType);
        }
        catch (MatrixApiException ex) when ((int)ex.Status is >= 400 and < 500 && ex.Status != System.Net.HttpStatusCode.TooManyRequests)
        {
            // Refused for good (too large for the homeserver, ...): remembered below, so not tried on every message.
            _logger.LogWarning(AvatarNotSet, "Picture of {Puppet} refused by the homeserver: {Error}", userId, ex.Message);
        }
        catch (Exception ex) when (ex is MatrixApiException or HttpRequestException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            // The homeserver is failing for now: the message goes without the picture, which is tried with the next one.
            _logger.LogInformation(AvatarNotSet, "Picture of {Puppet} not set for now: {Error}", userId, ex.Message);
            return;
        }

        await _context.State.SetAsync(PuppetScope, key, avatar.Key, ct);
        _puppetNames[key] = avatar.Key;
    }

    /// <summary>The person removed their picture: so does the puppet (an empty <c>avatar_url</c>), once.</summary>
    private async Task RemoveAvatarAsync(string key, string current, string userId, CancellationToken ct)
    {
        if (current.Length == 0)
        {
            return;
        }

        try
        {
            await Client.SetAvatarUrlAsync(userId, "", ct);
            _logger.LogInformation(AvatarSet, "Picture of {Puppet} removed, as its person removed theirs", userId);
        }
        catch (MatrixApiException ex) when ((int)ex.Status is >= 400 and < 500 && ex.Status != System.Net.HttpStatusCode.TooManyRequests)
        {
            // Refused for good (the homeserver forbids changing pictures): said once, not asked per message.
            // An error: the removal may be the policy's (pictures withheld toward this network), not only the person's.
            _logger.LogError(AvatarNotSet, "Picture of {Puppet} cannot be removed on the homeserver: {Error}", userId, ex.Message);
        }
        catch (Exception ex) when (ex is MatrixApiException or HttpRequestException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            _logger.LogInformation(AvatarNotSet, "Picture of {Puppet} not removed for now: {Error}", userId, ex.Message);
            return; // tried again with the person's next message
        }

        await _context.State.SetAsync(PuppetScope, key, "", ct);
        _puppetNames[key] = "";
    }
}
