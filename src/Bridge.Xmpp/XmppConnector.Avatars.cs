using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Xml.Linq;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Core.Profiles;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Stream;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

/// <summary>
/// Pictures in both directions with XEP-0153 (vCard-based avatars), which every MUC client reads:
/// - an occupant's presence carries <c>&lt;x xmlns='vcard-temp:x:update'&gt;&lt;photo&gt;SHA-1&lt;/photo&gt;</c>; the hash is
///   the picture's version, and the bytes are read (only when another network needs them, through the core) with a
///   <c>vcard-temp</c> IQ from the bot's occupant to <c>room/nick</c>, which the room passes to the person's own server;
/// - a puppet's picture is read through the core once per version, advertised in its presence in each room, and served
///   when anyone asks the puppet's JID for its vCard.
/// </summary>
internal sealed partial class XmppConnector
{
    private const string VcardPrefix = "vcard:";
    private const string AvatarKeyPrefix = "avatar:";
    private static readonly TimeSpan VcardTimeout = TimeSpan.FromSeconds(10);

    /// <summary>(room, nick) → the photo hash the occupant advertises ("" when they advertise that they have none).</summary>
    private readonly ConcurrentDictionary<(string Room, string Nick), string> _occupantPhotos = new();

    /// <summary>Puppet bare JID → its picture (loaded from the state store on first use).</summary>
    private readonly ConcurrentDictionary<string, PuppetPhoto> _puppetPhotos = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>(puppet bare JID, room) → the hash last advertised there.</summary>
    private readonly ConcurrentDictionary<(string Puppet, string Room), string> _advertisedPhotos = new();

    private sealed record PuppetPhoto(string AvatarKey, string Sha1, string Type, string Base64)
    {
        /// <summary>A puppet whose person removed their picture: advertised as an empty photo.</summary>
        public static readonly PuppetPhoto None = new("", "", "", "");

        public bool IsNone => Base64.Length == 0;
    }

    /// <summary>What the connector keeps in the state store as JSON (default options), generated at build time.</summary>
    [JsonSerializable(typeof(PuppetPhoto))]
    [JsonSerializable(typeof(PersonRef))]
    private sealed partial class StateJson : JsonSerializerContext;

    /// <summary>Called for every occupant presence: remembers the advertised hash (an empty photo: no picture).</summary>
    private void TrackPhoto(RoomState room, string nick, XElement presence, bool unavailable)
    {
        if (unavailable)
        {
            _occupantPhotos.TryRemove((room.Key, nick), out _);
            return;
        }
        if (presence.Element(Ns.VcardUpdate + "x") is not { } update || update.Element(Ns.VcardUpdate + "photo") is not { } photo)
        {
            return; // no x or no photo element: the client says nothing about its picture; keep what we knew
        }
        var hash = photo.Value.Trim().ToLowerInvariant();
        if (hash.Length == 0 || (hash.Length == 40 && hash.All(char.IsAsciiHexDigitLower)))
        {
            // An empty photo element is XEP-0153's "I have no picture" (not "I say nothing", which is no element).
            _occupantPhotos[(room.Key, nick)] = hash;
        }
        else
        {
            _occupantPhotos.TryRemove((room.Key, nick), out _);
        }
    }

    /// <summary>The picture an occupant advertises, as the core names it (reference: hash, room and nick; version: hash).</summary>
    private AvatarRef? OccupantAvatar(RoomState room, string nick) =>
        _occupantPhotos.TryGetValue((room.Key, nick), out var hash) && hash.Length > 0
            ? new AvatarRef(new MediaSource(_network.Id, $"{VcardPrefix}{hash}:{room.Key}/{nick}"), hash)
            : null;

    /// <summary>The occupant advertises that they have no picture.</summary>
    private bool OccupantHasNoAvatar(RoomState room, string nick) =>
        _occupantPhotos.TryGetValue((room.Key, nick), out var hash) && hash.Length == 0;

    private static bool IsVcardReference(string reference) => reference.StartsWith(VcardPrefix, StringComparison.Ordinal);

    /// <summary>Reads an occupant's vCard photo through the room (a room this network is configured for, nowhere else).</summary>
    private async Task<MediaDownload> OpenVcardPhotoAsync(string reference, CancellationToken cancellationToken)
    {
        var rest = reference[VcardPrefix.Length..];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        var slash = colon < 0 ? -1 : rest.IndexOf('/', colon);
        if (colon != 40 || slash < 0)
        {
            throw new MediaUnavailableException(MediaFailure.NotFetchable, "not a vCard reference of this network");
        }
        var roomKey = rest[(colon + 1)..slash];
        var nick = rest[(slash + 1)..];
        lock (_gate)
        {
            if (!_roomsByJid.ContainsKey(roomKey))
            {
                throw new MediaUnavailableException(MediaFailure.NotFetchable, "not a room of this network");
            }
        }
        var stream = _stream ?? throw new MediaUnavailableException(MediaFailure.Unavailable, "not connected");
        XElement reply;
        try
        {
            reply = await SendIqAsync(stream, new XElement(Ns.Component + "iq", new XAttribute("type", "get"), new XAttribute("from", _botJid.ToString()),
                new XAttribute("to", $"{roomKey}/{nick}"), new XElement(Ns.VcardTemp + "vCard")), VcardTimeout, cancellationToken);
        }
        catch (Exception e) when (e is XmppIqErrorException or TimeoutException or XmppStreamClosedException or StanzaRejectedException)
        {
            throw new MediaUnavailableException(MediaFailure.Unavailable, $"vCard of {roomKey}/{nick} not read: {e.Message}", e);
        }
        var photo = reply.Element(Ns.VcardTemp + "vCard")?.Element(Ns.VcardTemp + "PHOTO");
        var binval = photo?.Element(Ns.VcardTemp + "BINVAL")?.Value;
        if (binval is null)
        {
            throw new MediaUnavailableException(MediaFailure.Unavailable, $"the vCard of {roomKey}/{nick} has no photo");
        }
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(string.Concat(binval.Where(c => !char.IsWhiteSpace(c))));
        }
        catch (FormatException e)
        {
            throw new MediaUnavailableException(MediaFailure.Unavailable, "the vCard photo is not base64", e);
        }
        var type = photo!.Element(Ns.VcardTemp + "TYPE")?.Value.Trim();
        return new MediaDownload(new MemoryStream(bytes, writable: false), type is { Length: > 0 } ? type : null, bytes.Length);
    }

    /// <summary>
    /// Gives the puppet its person's picture when it changed (read through the core once per version) and advertises its
    /// hash in the room when the room has not seen it. A picture that cannot cross only costs the picture.
    /// </summary>
    private async Task FollowAvatarAsync(Occupancy occupancy, PersonRef person, CancellationToken cancellationToken)
    {
        if (person.Avatar is null && !person.AvatarRemoved)
        {
            return; // nothing known: the puppet keeps what it shows
        }
        var puppet = occupancy.OccupantJid.BareString;
        var photo = await PuppetPhotoAsync(puppet, cancellationToken);
        if (person.Avatar is not { } avatar)
        {
            if (photo is null)
            {
                return; // it never showed one
            }
            if (!photo.IsNone)
            {
                // The person removed their picture: the puppet advertises none (an empty photo, in each of its rooms as
                // it speaks there) and serves a vCard without one.
                photo = PuppetPhoto.None;
                _puppetPhotos[puppet] = photo;
                await _context.State.SetAsync(_stateScope, AvatarKeyPrefix + puppet, JsonSerializer.Serialize(photo, StateJson.Default.PuppetPhoto), cancellationToken);
            }
        }
        else if (photo?.AvatarKey != avatar.Key)
        {
            var image = await _context.Avatars.ReadAsync(avatar, cancellationToken);
            if (image is null)
            {
                return; // the reader logged why, once, and asks again only after its backoff
            }
            photo = new PuppetPhoto(avatar.Key, Convert.ToHexStringLower(SHA1.HashData(image.Bytes)), image.ContentType, Convert.ToBase64String(image.Bytes));
            _puppetPhotos[puppet] = photo;
            await _context.State.SetAsync(_stateScope, AvatarKeyPrefix + puppet, JsonSerializer.Serialize(photo, StateJson.Default.PuppetPhoto), cancellationToken);
        }

        string? nick;
        lock (_gate)
        {
            nick = occupancy.State == OccupancyState.Joined ? occupancy.Nick : null;
        }
        if (nick is null || (_advertisedPhotos.TryGetValue((puppet, occupancy.Room.Key), out var shown) && shown == photo.Sha1))
        {
            return;
        }
        var stream = _stream ?? throw new XmppStreamClosedException("not connected");
        // A presence update to the current occupant JID (no MUC join element): the room broadcasts the new hash.
        await stream.SendAsync(new XElement(Ns.Component + "presence",
            new XAttribute("from", occupancy.OccupantJid.ToString()),
            new XAttribute("to", $"{occupancy.Room.Key}/{nick}"),
            new XElement(Ns.VcardUpdate + "x", new XElement(Ns.VcardUpdate + "photo", photo.Sha1))), cancellationToken);
        _advertisedPhotos[(puppet, occupancy.Room.Key)] = photo.Sha1;
    }

    /// <summary>
    /// The <c>vcard-temp:x:update</c> element a puppet's join or nick-change presence carries (null when its picture is
    /// not known yet), remembered as advertised in that room.
    /// </summary>
    private XElement? PhotoUpdateFor(Occupancy occupancy)
    {
        if (occupancy.IsBot || !_puppetPhotos.TryGetValue(occupancy.OccupantJid.BareString, out var photo))
        {
            return null;
        }
        _advertisedPhotos[(occupancy.OccupantJid.BareString, occupancy.Room.Key)] = photo.Sha1;
        return new XElement(Ns.VcardUpdate + "x", new XElement(Ns.VcardUpdate + "photo", photo.Sha1));
    }

    private async Task<PuppetPhoto?> PuppetPhotoAsync(string puppet, CancellationToken cancellationToken)
    {
        if (_puppetPhotos.TryGetValue(puppet, out var known))
        {
            return known;
        }
        if (await _context.State.GetAsync(_stateScope, AvatarKeyPrefix + puppet, cancellationToken) is not { } json)
        {
            return null;
        }
        try
        {
            var stored = JsonSerializer.Deserialize(json, StateJson.Default.PuppetPhoto);
            if (stored is not null)
            {
                _puppetPhotos[puppet] = stored;
            }
            return stored;
        }
        catch (JsonException)
        {
            return null; // read again from its network on the next message
        }
    }

    /// <summary>The vCard of a puppet (XEP-0054): its display name and, when known, its picture; an empty vCard otherwise.</summary>
    private async Task<XElement> PuppetVcardAsync(Jid puppet, CancellationToken cancellationToken)
    {
        var vcard = new XElement(Ns.VcardTemp + "vCard");
        if (_puppetPersons.TryGetValue(puppet.BareString, out var person) && person.DisplayName.Length > 0)
        {
            vcard.Add(new XElement(Ns.VcardTemp + "FN", person.DisplayName));
        }
        if (await PuppetPhotoAsync(puppet.BareString, cancellationToken) is { IsNone: false } photo)
        {
            vcard.Add(new XElement(Ns.VcardTemp + "PHOTO", new XElement(Ns.VcardTemp + "TYPE", photo.Type), new XElement(Ns.VcardTemp + "BINVAL", photo.Base64)));
        }
        _logger.LogDebug(XmppLog.VcardServed, "vCard of {Puppet} served", puppet);
        return vcard;
    }
}
