using System.Security;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Bridge.Xmpp.Tests.Fixtures;

/// <summary>
/// One MUC room with an archive, played over <see cref="FakeComponentServer"/> connections, for what a stock server
/// will not do on demand: lose a reflection, refuse a message for rate, take a message and then lose the connection.
/// Every occupant join is accepted; every groupchat message the connector sends is handed to <see cref="Decide"/>,
/// which says whether the room takes it (into its archive, with a stanza-id) and how it answers. Archive queries are
/// answered from what the room took, paged as Prosody pages them (RSM <c>max</c>, <c>after</c>, <c>before</c>, an empty
/// <c>before</c> for the last page, <c>item-not-found</c> for an id the archive does not hold, <c>complete</c> only on the
/// last page); other iqs get an empty result. Time filters (<c>start</c>, <c>end</c>) are not played: every message
/// has one stamp. The room outlives connections: a connector that reconnects finds the same archive.
/// </summary>
public sealed partial class FakeMucRoom(string room, string componentDomain = "bridge.localhost")
{
    private readonly Lock _gate = new();
    private readonly List<Archived> _archive = [];
    private readonly List<string> _received = [];
    private readonly Dictionary<string, string> _nicks = new(StringComparer.Ordinal);
    private int _archiveQueries;

    /// <summary>How the room deals with one message the connector sent.</summary>
    public enum Answer
    {
        /// <summary>Taken into the room and reflected to the sender (the normal case).</summary>
        Reflect,

        /// <summary>Taken into the room (archived, seen by everyone) but its reflection never reaches the sender.</summary>
        TakeSilently,

        /// <summary>Never reaches the room (lost on the way): not archived, not reflected.</summary>
        Lose,

        /// <summary>Refused for rate (<c>resource-constraint</c>, as mod_muc_limits answers): not taken.</summary>
        RefuseForRate,
    }

    /// <summary>A message the room took: its stanza-id, the sender's nick, the origin-id the connector gave it, its body.</summary>
    public sealed record Archived(string StanzaId, string Nick, string OriginId, string Body);

    /// <summary>Decides each message (by its body); <see cref="Answer.Reflect"/> unless set.</summary>
    public Func<string, Answer> Decide { get; set; } = _ => Answer.Reflect;

    /// <summary>Called after each message is dealt with (by its body), with the connection it came on.</summary>
    public Func<string, FakeSession, Task>? AfterMessage { get; set; }

    /// <summary>What the room took, in the order it took it: what everyone in it saw, each message once.</summary>
    public IReadOnlyList<Archived> Messages
    {
        get
        {
            lock (_gate)
            {
                return [.. _archive];
            }
        }
    }

    /// <summary>Bodies of every groupchat message the connector sent into the room, on every connection, repeats included.</summary>
    public IReadOnlyList<string> Received
    {
        get
        {
            lock (_gate)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>How many archive queries the connector made (each connection's catch-up included).</summary>
    public int ArchiveQueries => Volatile.Read(ref _archiveQueries);

    /// <summary>Plays the room on one connection until it closes: the handshake, then every stanza in order.</summary>
    public async Task ServeAsync(FakeSession session, string secret)
    {
        Assert.True(await session.HandshakeAsync(secret, componentDomain));
        var offset = 0;
        while (!session.Closed)
        {
            var text = session.Received;
            var match = Stanza().Match(text, offset);
            if (!match.Success)
            {
                await Task.Delay(5);
                continue;
            }

            offset = match.Index + match.Length;
            await HandleAsync(session, XElement.Parse(match.Value));
        }
    }

    private async Task HandleAsync(FakeSession session, XElement stanza)
    {
        var from = (string?)stanza.Attribute("from") ?? "";
        var to = (string?)stanza.Attribute("to") ?? "";
        var id = (string?)stanza.Attribute("id") ?? "";
        switch (stanza.Name.LocalName)
        {
            case "presence" when (string?)stanza.Attribute("type") is null && to.StartsWith(room + "/", StringComparison.Ordinal):
                lock (_gate)
                {
                    _nicks[from] = to[(room.Length + 1)..];
                }

                await session.SendAsync($"<presence from='{Esc(to)}' to='{Esc(from)}'><x xmlns='http://jabber.org/protocol/muc#user'>" +
                                        "<item affiliation='none' role='participant'/><status code='110'/></x></presence>");
                break;
            case "message" when (string?)stanza.Attribute("type") == "groupchat" && to == room:
                await OnGroupchatAsync(session, stanza, from, id);
                break;
            case "iq" when stanza.Elements().FirstOrDefault(e => e.Name == Mam + "query") is { } query:
                await AnswerArchiveQueryAsync(session, from, to, id, query);
                break;
            case "iq" when (string?)stanza.Attribute("type") is "get" or "set":
                await session.SendAsync($"<iq type='result' id='{Esc(id)}' from='{Esc(to)}' to='{Esc(from)}'/>");
                break;
        }
    }

    private async Task OnGroupchatAsync(FakeSession session, XElement message, string from, string id)
    {
        var body = (string?)message.Elements().FirstOrDefault(e => e.Name.LocalName == "body") ?? "";
        var originId = (string?)message.Elements().FirstOrDefault(e => e.Name.LocalName == "origin-id")?.Attribute("id") ?? id;
        var nick = NickOf(from);
        Archived? taken = null;
        var answer = Decide(body);
        lock (_gate)
        {
            _received.Add(body);
            if (answer is Answer.Reflect or Answer.TakeSilently)
            {
                taken = new Archived($"s-{_archive.Count + 1}", nick, originId, body);
                _archive.Add(taken);
            }
        }

        if (answer == Answer.Reflect)
        {
            await session.SendAsync($"<message type='groupchat' from='{Esc(room)}/{Esc(nick)}' to='{Esc(from)}' id='{Esc(id)}'><body>{Esc(body)}</body>" +
                                    $"<stanza-id xmlns='urn:xmpp:sid:0' by='{Esc(room)}' id='{taken!.StanzaId}'/><origin-id xmlns='urn:xmpp:sid:0' id='{Esc(originId)}'/></message>");
        }
        else if (answer == Answer.RefuseForRate)
        {
            await session.SendAsync($"<message type='error' from='{Esc(room)}' to='{Esc(from)}' id='{Esc(id)}'>" +
                                    "<error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        }

        if (AfterMessage is { } after)
        {
            await after(body, session);
        }
    }

    private async Task AnswerArchiveQueryAsync(FakeSession session, string from, string to, string id, XElement query)
    {
        Interlocked.Increment(ref _archiveQueries);
        var queryId = (string?)query.Attribute("queryid") ?? "";
        var set = query.Element(Rsm + "set");
        var max = int.TryParse((string?)set?.Element(Rsm + "max"), out var m) ? m : int.MaxValue;
        var after = (string?)set?.Element(Rsm + "after");
        var before = set?.Element(Rsm + "before");
        var archived = Messages;

        // The page, as Prosody cuts it: after an id forwards, before an id (or, empty, from the end) backwards.
        var anchor = after ?? (string.IsNullOrEmpty((string?)before) ? null : (string)before!);
        var at = anchor is null ? -1 : archived.ToList().FindIndex(a => a.StanzaId == anchor);
        if (anchor is not null && at < 0)
        {
            await session.SendAsync($"<iq type='error' id='{Esc(id)}' from='{Esc(to)}' to='{Esc(from)}'><error type='cancel'>" +
                                    "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
            return;
        }

        int start, end; // [start, end)
        bool complete;
        if (before is not null)
        {
            end = at < 0 ? archived.Count : at;
            start = Math.Max(0, end - max);
            complete = start == 0;
        }
        else
        {
            start = after is null ? 0 : at + 1;
            end = (int)Math.Min(archived.Count, (long)start + max);
            complete = end == archived.Count;
        }

        var page = archived.Skip(start).Take(end - start).ToList();
        foreach (var a in page)
        {
            await session.SendAsync($"<message from='{Esc(to)}' to='{Esc(from)}'><result xmlns='urn:xmpp:mam:2' queryid='{Esc(queryId)}' id='{a.StanzaId}'>" +
                                    "<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>" +
                                    $"<message xmlns='jabber:client' type='groupchat' from='{Esc(room)}/{Esc(a.Nick)}' id='{Esc(a.OriginId)}'><body>{Esc(a.Body)}</body>" +
                                    $"<origin-id xmlns='urn:xmpp:sid:0' id='{Esc(a.OriginId)}'/></message></forwarded></result></message>");
        }

        var edges = page.Count > 0 ? $"<set xmlns='http://jabber.org/protocol/rsm'><first>{page[0].StanzaId}</first><last>{page[^1].StanzaId}</last></set>" : "";
        await session.SendAsync($"<iq type='result' id='{Esc(id)}' from='{Esc(to)}' to='{Esc(from)}'><fin xmlns='urn:xmpp:mam:2'{(complete ? " complete='true'" : "")}>{edges}</fin></iq>");
    }

    private string NickOf(string from)
    {
        lock (_gate)
        {
            return _nicks.TryGetValue(from, out var nick) ? nick : from;
        }
    }

    private static string Esc(string value) => SecurityElement.Escape(value);

    private static readonly XNamespace Mam = "urn:xmpp:mam:2";
    private static readonly XNamespace Rsm = "http://jabber.org/protocol/rsm";

    [GeneratedRegex(@"<(message|presence|iq)\b(?:[^>]*/>|.*?</\1>)", RegexOptions.Singleline)]
    private static partial Regex Stanza();
}
