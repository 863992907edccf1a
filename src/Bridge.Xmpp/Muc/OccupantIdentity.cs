using System.Security.Cryptography;
using System.Text;

namespace Bridge.Xmpp.Muc;

/// <summary>
/// The stable id the bridge gives a room occupant (<see cref="Bridge.Core.Model.PersonRef.UserId"/>), chosen so it
/// never says more of the person than the room shows to everyone. The bridge's component may be a moderator and see
/// real JIDs that members do not (a semi-anonymous room): such a JID names the person only through a keyed hash, so
/// their puppets, usernames and display fields elsewhere never carry it.
/// </summary>
/// <remarks>
/// In order: the room's occupant id (XEP-0421, already opaque and per room); the real bare JID when the room shows it
/// to everyone (non-anonymous, status 100); a per-room HMAC of the real JID under this network's secret salt when only
/// the bridge sees it (stable across nick changes, useless for guessing who it is); else the room JID and nick.
/// </remarks>
internal sealed class OccupantIdentity(byte[] salt)
{
    /// <summary>Hex digits of the HMAC kept (80 bits: no two people of one room ever share one).</summary>
    private const int HiddenIdLength = 20;

    public const string OccupantIdPrefix = "occupant-id:";
    public const string HiddenPrefix = "hidden:";

    public string UserIdFor(string roomKey, bool realJidsPublic, string nick, OccupantInfo? known, string? occupantIdInStanza)
    {
        var occupantId = occupantIdInStanza ?? known?.OccupantId;
        if (occupantId is not null)
        {
            return $"{OccupantIdPrefix}{roomKey}:{occupantId}";
        }

        if (known?.RealJid is { } realJid)
        {
            return realJidsPublic ? realJid : Hidden(roomKey, realJid);
        }

        return $"{roomKey}/{nick}";
    }

    /// <summary>Whether <paramref name="userId"/> is the id this class gives the occupant described by <paramref name="info"/>.</summary>
    public bool Names(string userId, string roomKey, bool realJidsPublic, string nick, OccupantInfo info) =>
        string.Equals(userId, UserIdFor(roomKey, realJidsPublic, nick, info, null), StringComparison.OrdinalIgnoreCase);

    private string Hidden(string roomKey, string realJid)
    {
        var mac = HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(roomKey + "\n" + realJid.ToLowerInvariant()));
        return $"{HiddenPrefix}{roomKey}:{Convert.ToHexStringLower(mac)[..HiddenIdLength]}";
    }
}
