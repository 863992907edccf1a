using System.Xml.Linq;

namespace Bridge.Xmpp.Protocol;

/// <summary>The XML namespaces the component speaks.</summary>
internal static class Ns
{
    public static readonly XNamespace Component = "jabber:component:accept";
    public static readonly XNamespace Client = "jabber:client";
    public static readonly XNamespace Streams = "http://etherx.jabber.org/streams";
    public static readonly XNamespace StreamErrors = "urn:ietf:params:xml:ns:xmpp-streams";
    public static readonly XNamespace Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    public static readonly XNamespace Muc = "http://jabber.org/protocol/muc";
    public static readonly XNamespace MucUser = "http://jabber.org/protocol/muc#user";
    public static readonly XNamespace MucOwner = "http://jabber.org/protocol/muc#owner";
    public static readonly XNamespace DataForms = "jabber:x:data";
    public static readonly XNamespace DiscoInfo = "http://jabber.org/protocol/disco#info";
    public static readonly XNamespace DiscoItems = "http://jabber.org/protocol/disco#items";
    public static readonly XNamespace Ping = "urn:xmpp:ping";
    public static readonly XNamespace StanzaId = "urn:xmpp:sid:0";
    public static readonly XNamespace OccupantId = "urn:xmpp:occupant-id:0";
    public static readonly XNamespace Delay = "urn:xmpp:delay";
    public static readonly XNamespace Mam = "urn:xmpp:mam:2";
    public static readonly XNamespace Forward = "urn:xmpp:forward:0";
    public static readonly XNamespace Rsm = "http://jabber.org/protocol/rsm";
    public static readonly XNamespace Correct = "urn:xmpp:message-correct:0";
    public static readonly XNamespace Retract = "urn:xmpp:message-retract:1";
    public static readonly XNamespace RetractLegacy = "urn:xmpp:message-retract:0";
    public static readonly XNamespace Fasten = "urn:xmpp:fasten:0";
    public static readonly XNamespace Reactions = "urn:xmpp:reactions:0";
    public static readonly XNamespace Reply = "urn:xmpp:reply:0";
    public static readonly XNamespace Fallback = "urn:xmpp:fallback:0";
    public static readonly XNamespace SecLabel = "urn:xmpp:sec-label:0";
    public static readonly XNamespace Oob = "jabber:x:oob";
    public static readonly XNamespace Hints = "urn:xmpp:hints";
    public static readonly XNamespace HttpUpload = "urn:xmpp:http:upload:0";
    public static readonly XNamespace VcardTemp = "vcard-temp";
    public static readonly XNamespace VcardUpdate = "vcard-temp:x:update";
    public static readonly XNamespace ChatStates = "http://jabber.org/protocol/chatstates";

    /// <summary>True for the stanza namespaces (the live stream's and the one inside forwarded archive copies).</summary>
    public static bool IsStanzaNamespace(XNamespace ns) => ns == Component || ns == Client;
}
