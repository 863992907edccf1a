using System.Collections.Concurrent;
using System.Globalization;
using System.Xml.Linq;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Stream;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

/// <summary>
/// A daemon killed between sending a stanza and the core recording it delivered sends the same outbox row again after
/// its restart. The catch-up recognises our recent sends only near the saved position, and the room may have moved far
/// past it; so every send is marked (its id and time) before it leaves, and a row whose mark a previous run left (or
/// whose send in this run was never confirmed: no reflection in time, or the stream dropped) is looked up in the room's
/// archive from that time on, by origin-id, before anything is sent again.
/// </summary>
internal sealed partial class XmppConnector
{
    /// <summary>How long a mark is kept: far longer than the core takes to record a delivery it was told of.</summary>
    private TimeSpan SendMarkLifetime => _options.SendMarkLifetime;

    /// <summary>
    /// How long a previous run's mark is kept while its row has not come back: a row the core had recorded never does,
    /// but one whose delivery was cut short comes back only once a run gets far enough, however many restarts that takes.
    /// </summary>
    private static readonly TimeSpan MarkFromBeforeLifetime = TimeSpan.FromHours(24);

    /// <summary>How far before its mark's time a send is looked for (the mark is written just before the send).</summary>
    private static readonly TimeSpan SendMarkSlack = TimeSpan.FromSeconds(30);

    private const int SendSearchPages = 20;

    /// <summary>Sends not known to have reached the room (marks a previous run left, or unconfirmed in this run): message id to when it was sent.</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _marksFromBefore = new(StringComparer.Ordinal);

    /// <summary>This run's marks, oldest first, deleted once older than <see cref="SendMarkLifetime"/>.</summary>
    private readonly ConcurrentQueue<(string MessageId, DateTimeOffset At)> _sendMarks = new();

    private string SendMarkScope => $"{_stateScope}:sending";

    private async Task LoadSendMarksAsync(CancellationToken cancellationToken)
    {
        try
        {
            var cutoff = _context.Time.GetUtcNow() - MarkFromBeforeLifetime;
            foreach (var (messageId, value) in await _context.State.ListAsync(SendMarkScope, cancellationToken))
            {
                if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) || at < cutoff)
                {
                    await _context.State.DeleteAsync(SendMarkScope, messageId, cancellationToken);
                    continue;
                }

                // Kept until its row comes back, not purged by this run's clock: a run killed before delivering anything
                // used to drop marks two minutes after their send, and the run after it sent those rows again.
                _marksFromBefore[messageId] = at;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(XmppLog.StateFailed, ex, "Could not read the marks of sends cut short by the last stop; such a send may be repeated");
        }
    }

    /// <summary>Written before the stanzas leave, all in one store write: a send that cannot be marked is not made (tried again later).</summary>
    private async Task<bool> MarkSendsAsync(IReadOnlyList<string> messageIds, CancellationToken cancellationToken)
    {
        var now = _context.Time.GetUtcNow();
        var at = now.ToString("O", CultureInfo.InvariantCulture);
        try
        {
            if (messageIds.Count == 1)
            {
                await _context.State.SetAsync(SendMarkScope, messageIds[0], at, cancellationToken);
            }
            else
            {
                await _context.State.SetManyAsync(SendMarkScope, [.. messageIds.Select(id => new KeyValuePair<string, string>(id, at))], cancellationToken);
            }

            foreach (var messageId in messageIds)
            {
                _sendMarks.Enqueue((messageId, now));
            }

            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(XmppLog.StateFailed, "Could not mark the send of {MessageId} ({Error}); holding it", messageIds[0], ex.Message);
            return false;
        }
    }

    /// <summary>Most expired marks deleted in one store transaction (a tick at a high message rate holds a few hundred).</summary>
    internal const int SendMarkPurgeBatch = 500;

    /// <summary>
    /// Deletes marks old enough that the core has long recorded their delivery: all of a tick's in one store call, one
    /// commit instead of one per message sent. A mark whose send is not known to have reached the room (its reflection
    /// still awaited, or never came: <see cref="SendUnconfirmed"/>) stays in the store until its row comes back and is
    /// looked up (<see cref="LookForSendFromBeforeAsync"/> then queues it again): its row may wait longer than a mark's
    /// lifetime (a backoff, a stalled room), and a restart meanwhile must still look for it instead of sending it again.
    /// Only this loop takes marks off the queue, so the ones passed over are exactly the first ones dequeued afterwards.
    /// </summary>
    private async Task PurgeSendMarksAsync(CancellationToken cancellationToken)
    {
        var cutoff = _context.Time.GetUtcNow() - SendMarkLifetime;
        while (true)
        {
            var expired = new List<string>();
            var passed = 0;
            foreach (var mark in _sendMarks)
            {
                if (mark.At >= cutoff || expired.Count == SendMarkPurgeBatch)
                {
                    break;
                }

                passed++;
                if (!_marksFromBefore.ContainsKey(mark.MessageId) && !_pendingSends.ContainsKey(mark.MessageId))
                {
                    expired.Add(mark.MessageId);
                }
            }

            if (passed == 0)
            {
                return;
            }

            if (expired.Count > 0)
            {
                try
                {
                    await _context.State.DeleteManyAsync(SendMarkScope, expired, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    StateWriteFailed(ex, "old send marks");
                    return; // the next tick tries again
                }
            }

            for (var i = 0; i < passed; i++)
            {
                _sendMarks.TryDequeue(out _);
            }

            if (expired.Count < SendMarkPurgeBatch)
            {
                return;
            }
        }
    }

    /// <summary>
    /// For a row a previous run may have sent: reads the room's archive from a little before the mark's time, so our own
    /// sends in it (by origin-id) are known; true when the archive could be read (found or not).
    /// </summary>
    private async Task<bool> LookForSendFromBeforeAsync(RoomState room, string messageId, CancellationToken cancellationToken)
    {
        if (!_marksFromBefore.TryGetValue(messageId, out var at))
        {
            return true;
        }

        var stream = _stream ?? throw new XmppStreamClosedException("not connected");
        string? after = null;
        for (var page = 0; page < SendSearchPages && !_sentStanzaIds.TryGet(messageId, out _); page++)
        {
            var queryId = NextId("sent");
            _recentOwnQueries[queryId] = room;
            var rsm = new XElement(Ns.Rsm + "set", new XElement(Ns.Rsm + "max", ArchivePageSize.ToString(CultureInfo.InvariantCulture)));
            if (after is not null)
            {
                rsm.Add(new XElement(Ns.Rsm + "after", after));
            }

            var iq = new XElement(Ns.Component + "iq",
                new XAttribute("type", "set"),
                new XAttribute("from", _botJid.ToString()),
                new XAttribute("to", room.Key),
                new XElement(Ns.Mam + "query", new XAttribute("queryid", queryId),
                    new XElement(Ns.DataForms + "x", new XAttribute("type", "submit"),
                        new XElement(Ns.DataForms + "field", new XAttribute("var", "FORM_TYPE"), new XAttribute("type", "hidden"),
                            new XElement(Ns.DataForms + "value", Ns.Mam.NamespaceName)),
                        new XElement(Ns.DataForms + "field", new XAttribute("var", "start"),
                            new XElement(Ns.DataForms + "value", (at - SendMarkSlack).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)))),
                    rsm));
            try
            {
                var reply = await SendIqAsync(stream, iq, _options.JoinTimeout * 3, cancellationToken);
                var fin = reply.Element(Ns.Mam + "fin");
                after = (string?)fin?.Element(Ns.Rsm + "set")?.Element(Ns.Rsm + "last");
                if ((string?)fin?.Attribute("complete") == "true" || after is null)
                {
                    break;
                }
            }
            catch (XmppIqErrorException ex)
            {
                // The archive answered and will not help (no archive, a refused query): holding the row would hold it
                // for ever, so it is sent, and the log says it may be a second copy.
                if (ex.Condition is "feature-not-implemented" or "service-unavailable")
                {
                    room.ArchiveAvailable = false;
                }

                _logger.LogWarning(XmppLog.CatchUpFailed, "Looking for {MessageId} in {Room}'s archive failed ({Condition}); sending it, possibly a second time",
                    messageId, room.Key, ex.Condition);
                break;
            }
            catch (TimeoutException)
            {
                _logger.LogWarning(XmppLog.CatchUpFailed, "{Room} did not answer an archive query; holding {MessageId}", room.Key, messageId);
                return false;
            }
            finally
            {
                _recentOwnQueries.TryRemove(queryId, out _);
            }
        }

        // Purged like this run's own from now on: the core records what this attempt returns well within a lifetime.
        _marksFromBefore.TryRemove(messageId, out _);
        _sendMarks.Enqueue((messageId, _context.Time.GetUtcNow()));
        return true;
    }

    /// <summary>A send whose reflection did not come back (timeout, stream dropped) may still be in the room: look before sending again.</summary>
    private void SendUnconfirmed(string messageId, DateTimeOffset sentAt) => _marksFromBefore.TryAdd(messageId, sentAt);
}
