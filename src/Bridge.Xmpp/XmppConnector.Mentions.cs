using System.Collections.Concurrent;
using System.Globalization;
using System.Xml.Linq;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Core.Text.Mentions;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;

namespace Bridge.Xmpp;

/// <summary>
/// Mentions and threads in MUC rooms. A mention is the person's nick in the room (of their puppet, or their own when
/// they are in the room) with a XEP-0372 reference (<c>type='mention'</c>, <c>uri='xmpp:room@service/nick'</c>,
/// <c>begin</c>/<c>end</c> in code points, end exclusive); references are read on the way in. A message in a thread
/// carries a XEP-0201 <c>&lt;thread/&gt;</c> whose id is the room's stanza-id of the thread's root (stable per root, and
/// what a client copies when it answers in the thread) and a XEP-0461 reply.
/// </summary>
internal sealed partial class XmppConnector
{
    private static readonly XNamespace ReferenceNs = "urn:xmpp:reference:0";
    private const int MaxMentionsPerMessage = 32;
    private const int MaxThreadIdLength = 256;

    /// <summary>Which person each puppet (bare JID) stands for, learnt as puppets deliver; a puppet out of the room is no one to mention.</summary>
    private readonly ConcurrentDictionary<string, PersonRef> _puppetPersons = new(StringComparer.OrdinalIgnoreCase);

    private void RememberPuppetPerson(Jid puppet, PersonRef person) => _puppetPersons[puppet.BareString] = person;

    /// <summary>The nick that names <paramref name="person"/> in <paramref name="room"/> now, or null when they are not there.</summary>
    private string? NickInRoom(PersonRef person, RoomState room)
    {
        if (person.NetworkId != _network.Id)
        {
            return JoinedNick(person, room.ChannelId);
        }

        lock (_gate)
        {
            // The same id the person's messages carry (OccupantIdentity), so a mention finds whoever wrote as them.
            var publicJids = room.RealJidsPublic;
            return room.Occupants.FirstOrDefault(o => _identity.Names(person.UserId, room.Key, publicJids, o.Key, o.Value)).Key;
        }
    }

    /// <summary>Puts each mention's nick into <paramref name="text"/>; returns where they landed.</summary>
    private IReadOnlyList<(string Nick, int Start, int Length)> RenderMentions(DeliveryRequest request, RoomState room, ref string text)
    {
        var mentions = request.Event.Mentions;
        if (mentions.Count == 0)
        {
            return [];
        }

        var nicks = new Dictionary<Mention, string>();
        foreach (var mention in mentions.Take(MaxMentionsPerMessage))
        {
            if (NickInRoom(mention.Person, room) is { } nick)
            {
                nicks[mention] = nick;
            }
        }

        text = MentionText.Render(text, mentions, m => nicks.GetValueOrDefault(m), out var placed);
        return [.. placed.Select(p => (nicks[p.Mention], p.Start, p.Length))];
    }

    /// <summary>XEP-0372 references for the mentions placed in the body, which starts <paramref name="offset"/> UTF-16 units before the text.</summary>
    private static void AddReferences(XElement message, RoomState room, string body, int offset, IReadOnlyList<(string Nick, int Start, int Length)> placed)
    {
        foreach (var (nick, start, length) in placed)
        {
            var begin = CodePoints(body, offset + start);
            var end = begin + CodePoints(body.Substring(offset + start, length), length);
            message.Add(new XElement(ReferenceNs + "reference",
                new XAttribute("type", "mention"),
                new XAttribute("uri", $"xmpp:{room.Key}/{Uri.EscapeDataString(nick)}"),
                new XAttribute("begin", begin.ToString(CultureInfo.InvariantCulture)),
                new XAttribute("end", end.ToString(CultureInfo.InvariantCulture))));
        }
    }

    /// <summary>XEP-0201 thread and XEP-0461 reply for a message in a thread (the thread id is the root's stanza-id here).</summary>
    private static void AddThread(XElement message, DeliveryRequest request)
    {
        if (request.ThreadRootNativeId is not { } root)
        {
            return;
        }

        message.Add(new XElement(Ns.Component + "thread", root));
        if (request.ReplyToNativeId is null)
        {
            message.Add(new XElement(Ns.Reply + "reply", new XAttribute("id", root)));
        }
    }

    /// <summary>The thread a room message is in (XEP-0201), as the id of its root when the bridge made it.</summary>
    private static string? ThreadOf(XElement message)
    {
        var thread = ((string?)message.Element(message.Name.Namespace + "thread"))?.Trim();
        return thread is { Length: > 0 and <= MaxThreadIdLength } ? thread : null;
    }

    /// <summary>The people a message's XEP-0372 mention references name, with the words of the body they cover.</summary>
    private IReadOnlyList<Mention> ReadMentions(RoomState room, XElement message, string body)
    {
        var mentions = new List<Mention>();
        foreach (var reference in message.Elements(ReferenceNs + "reference").Take(MaxMentionsPerMessage))
        {
            if ((string?)reference.Attribute("type") != "mention" || (string?)reference.Attribute("uri") is not { } uri
                || !uri.StartsWith("xmpp:", StringComparison.Ordinal) || !Jid.TryParse(Uri.UnescapeDataString(uri[5..].Split('?')[0]), out var jid)
                || !string.Equals(jid.Value.BareString, room.Key, StringComparison.OrdinalIgnoreCase) || jid.Value.Resource is not { Length: > 0 } nick)
            {
                continue; // only people of this room can be named
            }

            var written = Covered(body, reference) ?? nick;
            if (PersonOfNick(room, nick) is { } person)
            {
                mentions.Add(new Mention { Person = person, Written = written });
            }
        }

        return mentions;
    }

    private PersonRef? PersonOfNick(RoomState room, string nick)
    {
        lock (_gate)
        {
            foreach (var occupancy in _occupancies.Values)
            {
                if (ReferenceEquals(occupancy.Room, room) && occupancy.State == OccupancyState.Joined && occupancy.Nick == nick)
                {
                    return occupancy.IsBot ? null : _puppetPersons.GetValueOrDefault(occupancy.OccupantJid.BareString);
                }
            }

            if (!room.Occupants.TryGetValue(nick, out var known))
            {
                return null;
            }

            // The id their messages carry: never more of them than the room shows (OccupantIdentity).
            var userId = _identity.UserIdFor(room.Key, room.RealJidsPublic, nick, known, null);
            return new PersonRef { NetworkId = _network.Id, UserId = userId, DisplayName = nick, Handle = nick };
        }
    }

    /// <summary>The words a reference's begin/end (code points, end exclusive) cover in the body, or null when out of range.</summary>
    private static string? Covered(string body, XElement reference)
    {
        if (!int.TryParse((string?)reference.Attribute("begin"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var begin)
            || !int.TryParse((string?)reference.Attribute("end"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var end))
        {
            return null;
        }

        var runes = body.EnumerateRunes().ToList();
        return begin < 0 || end > runes.Count || begin >= end ? null : string.Concat(runes.Skip(begin).Take(end - begin).Select(r => r.ToString()));
    }

    private static int CodePoints(string text, int utf16Length) => text[..Math.Min(utf16Length, text.Length)].EnumerateRunes().Count();
}
