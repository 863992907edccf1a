using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bridge.Testing;

/// <summary>
/// A real person on XMPP: Debian's slixmpp driven through <c>tests/tools/xmpp_person.py</c>, in one MUC room.
/// Every message it receives is kept, with the time it arrived. Killed by PID on dispose.
/// </summary>
public sealed class XmppPerson : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<ReceivedMessage> _messages = [];
    private readonly List<string> _log = [];
    private int _disposed;
    private readonly List<(string Nick, string Type)> _presences = [];
    private readonly List<PrivateMessage> _privateMessages = [];
    private readonly List<ReceivedReaction> _reactions = [];
    private readonly List<ReceivedRetraction> _retractions = [];
    private readonly HashSet<string> _sent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _uploaded = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private XmppPerson(Process process, string room, string nick)
    {
        _process = process;
        Room = room;
        Nick = nick;
    }

    /// <summary>The nick the room gave us (the server may change the one asked for).</summary>
    public string Nick { get; private set; }

    public string Room { get; }

    public int Pid => _process.Id;

    public IReadOnlyList<ReceivedMessage> Messages
    {
        get
        {
            lock (_gate)
            {
                return _messages.ToList();
            }
        }
    }

    /// <summary>Occupant presences seen in the room, in order (nick, available|unavailable), including our own.</summary>
    public IReadOnlyList<(string Nick, string Type)> Presences
    {
        get
        {
            lock (_gate)
            {
                return _presences.ToList();
            }
        }
    }

    /// <summary>Chat/normal messages with a body sent to this person (MUC private messages such as the bridge's notices).</summary>
    public IReadOnlyList<PrivateMessage> PrivateMessages
    {
        get
        {
            lock (_gate)
            {
                return _privateMessages.ToList();
            }
        }
    }

    /// <summary>XEP-0444 reactions seen in the room, in arrival order (including our own reflected).</summary>
    public IReadOnlyList<ReceivedReaction> Reactions
    {
        get
        {
            lock (_gate)
            {
                return _reactions.ToList();
            }
        }
    }

    /// <summary>XEP-0424 retractions seen in the room, in arrival order (including our own reflected).</summary>
    public IReadOnlyList<ReceivedRetraction> Retractions
    {
        get
        {
            lock (_gate)
            {
                return _retractions.ToList();
            }
        }
    }

    public string Log
    {
        get
        {
            lock (_gate)
            {
                return string.Join('\n', _log);
            }
        }
    }

    public static Task<XmppPerson> JoinAsync(IXmppTestServer server, string user, string password, string room, string nick, TimeSpan? timeout = null, int history = 0)
    {
        ArgumentNullException.ThrowIfNull(server);
        return JoinAsync($"{user}@{server.Domain}", password, server.C2sPort, room, nick, timeout, history);
    }

    /// <summary>Logs <paramref name="jid"/> in over plaintext c2s on 127.0.0.1:<paramref name="c2sPort"/> and waits until it is in the room.</summary>
    public static async Task<XmppPerson> JoinAsync(string jid, string password, int c2sPort, string room, string nick, TimeSpan? timeout = null, int history = 0)
    {
        var info = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-u");
        info.ArgumentList.Add(RepoPaths.Tool("xmpp_person.py"));
        info.ArgumentList.Add(jid);
        info.ArgumentList.Add(password);
        info.ArgumentList.Add("127.0.0.1");
        info.ArgumentList.Add(c2sPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add(room);
        info.ArgumentList.Add(nick);
        // How much room history to ask for on join (0: none, as a person who was there all along).
        info.Environment["XMPP_PERSON_HISTORY"] = history.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start python3");
        var person = new XmppPerson(process, room, nick);
        process.OutputDataReceived += (_, e) => person.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => person.OnStderr(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        try
        {
            await person._joined.Task.WaitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            await person.DisposeAsync();
            throw new TimeoutException($"{nick} did not join {room}:\n{person.Log}");
        }

        return person;
    }

    /// <summary>Sends a groupchat message without waiting (throughput runs keep the client's pipe full).</summary>
    public async Task SayAsync(string body)
    {
        var line = JsonSerializer.Serialize(new { cmd = "say", body });
        await SendLineAsync(line);
    }

    /// <summary>Sends a one-to-one chat message (<c>type="chat"</c>) to <paramref name="to"/> and waits until it is sent; returns its id.</summary>
    public async Task<string> ChatAsync(string to, string body, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new { cmd = "chat", to, body, id }));
        await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
        return id;
    }

    /// <summary>Sends an XEP-0308 correction of our chat message <paramref name="originalId"/> to <paramref name="to"/>; returns its id.</summary>
    public async Task<string> CorrectChatAsync(string to, string originalId, string body, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new { cmd = "chat", to, body, id, replace = originalId }));
        await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
        return id;
    }

    /// <summary>Sends an XEP-0424 retraction (with its fallback body) of our chat message <paramref name="targetId"/> to <paramref name="to"/>.</summary>
    public async Task<string> RetractChatAsync(string to, string targetId, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new
        {
            cmd = "chat", to, id, retract = targetId,
            body = "This person attempted to retract a previous message, but it's unsupported by your client.",
        }));
        await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
        return id;
    }

    /// <summary>Sends a groupchat message and waits until the client has sent it; returns its id.</summary>
    public async Task<string> SayConfirmedAsync(string body, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new { cmd = "say", body, id }));
        await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
        return id;
    }

    /// <summary>
    /// Sends a groupchat message in an XEP-0201 thread and/or as an XEP-0461 reply, with XEP-0372 mention references
    /// (uri, begin, end in code points), and waits until it is sent; returns its id.
    /// </summary>
    public async Task<string> SayAsync(string body, string? thread, string? replyTo, IReadOnlyList<(string Uri, int Begin, int End)>? references = null,
        TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new
        {
            cmd = "say", body, id, thread, reply_id = replyTo,
            references = (references ?? []).Select(r => new { uri = r.Uri, begin = r.Begin, end = r.End }).ToArray(),
        }));
        await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
        return id;
    }

    /// <summary>Sends a message whose body is <paramref name="url"/> with the URL as XEP-0066 out-of-band data (a shared file, as clients send one).</summary>
    public async Task<string> ShareFileAsync(string url, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new { cmd = "say", body = url, id, oob = url }));
        await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
        return id;
    }

    /// <summary>
    /// Uploads <paramref name="data"/> through the server's XEP-0363 service <paramref name="service"/> as this person's
    /// client does (a slot, then an HTTP PUT with the slot's headers); returns the GET URL to share.
    /// </summary>
    public async Task<string> UploadAsync(string service, string fileName, string contentType, byte[] data, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        var path = Path.Combine(Path.GetTempPath(), "xmpp-person-upload-" + id);
        await File.WriteAllBytesAsync(path, data);
        try
        {
            await SendLineAsync(JsonSerializer.Serialize(new { cmd = "upload", id, path, service, filename = fileName, content_type = contentType }));
            var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
            while (true)
            {
                lock (_gate)
                {
                    if (_uploaded.TryGetValue(id, out var url))
                    {
                        return url;
                    }
                }
                if (DateTime.UtcNow > deadline || _process.HasExited)
                {
                    throw new TimeoutException($"{Nick}: upload {id} not done:\n{Log}");
                }
                await Task.Delay(10);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Sends an XEP-0444 reaction to the message the room knows as <paramref name="targetId"/> (its stanza-id in a MUC).</summary>
    public async Task<string> ReactAsync(string targetId, string key, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new { cmd = "react", id = targetId, key, new_id = id }));
        await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
        return id;
    }

    /// <summary>Sends this person's whole XEP-0444 set of reactions to <paramref name="targetId"/>; an empty set takes every one back.</summary>
    public async Task<string> ReactSetAsync(string targetId, IReadOnlyList<string> keys, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new { cmd = "react", id = targetId, keys, new_id = id }));
        await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
        return id;
    }

    /// <summary>Sends an XEP-0424 retraction of the message the room knows as <paramref name="targetId"/> (its stanza-id) and waits until it is sent.</summary>
    public async Task<string> RetractAsync(string targetId, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new { cmd = "retract", id = targetId, new_id = id }));
        await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
        return id;
    }

    /// <summary>Sends an XEP-0308 correction of one of our messages and waits until it is sent; returns the correction's id.</summary>
    public async Task<string> CorrectAsync(string originalId, string body, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new { cmd = "correct", id = originalId, new_id = id, body }));
        await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
        return id;
    }

    /// <summary>Waits until at least <paramref name="count"/> received messages match; returns them in arrival order.</summary>
    public async Task<IReadOnlyList<ReceivedMessage>> WaitForMessagesAsync(Func<ReceivedMessage, bool> predicate, int count, TimeSpan timeout)
    {
        var snapshot = await WaitForAsync(all => all.Count(predicate) >= count, timeout, $"{count} matching messages");
        return snapshot.Where(predicate).ToList();
    }

    /// <summary>Waits until the received messages satisfy <paramref name="condition"/>.</summary>
    public async Task<IReadOnlyList<ReceivedMessage>> WaitForAsync(Func<IReadOnlyList<ReceivedMessage>, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var snapshot = Messages;
            if (condition(snapshot))
            {
                return snapshot;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Nick}: {what} not seen within {timeout}; got {snapshot.Count} messages:\n" +
                                           string.Join('\n', snapshot.TakeLast(20).Select(m => $"  <{m.FromNick}> {m.Body}")) + "\n" + Log[Math.Max(0, Log.Length - 2000)..]);
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Waits until the private messages received satisfy <paramref name="condition"/>.</summary>
    public async Task<IReadOnlyList<PrivateMessage>> WaitForPrivateAsync(Func<IReadOnlyList<PrivateMessage>, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var snapshot = PrivateMessages;
            if (condition(snapshot))
            {
                return snapshot;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Nick}: {what} not seen within {timeout}; got {snapshot.Count} private messages:\n" +
                                           string.Join('\n', snapshot.TakeLast(20).Select(m => $"  <{m.From}> {m.Body}")) + "\n" + Log[Math.Max(0, Log.Length - 2000)..]);
            }

            await Task.Delay(25);
        }
    }

    private readonly Dictionary<string, string> _photos = new(StringComparer.Ordinal);
    private readonly List<(string Nick, string State)> _chatStates = [];

    /// <summary>XEP-0085 chat states (composing, paused, ...) seen in the room without a body, oldest first.</summary>
    public IReadOnlyList<(string Nick, string State)> ChatStates
    {
        get
        {
            lock (_gate)
            {
                return [.. _chatStates];
            }
        }
    }

    /// <summary>Sends an XEP-0085 chat state (composing, paused) to the room, as a client does while its person types.</summary>
    public async Task SendChatStateAsync(string state, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new { cmd = "chatstate", id, state }));
        await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
    }
    private readonly Dictionary<string, ReceivedVcard> _vcards = new(StringComparer.Ordinal);

    /// <summary>The XEP-0153 photo hash each occupant last advertised in its presence ("" for none), by nick.</summary>
    public IReadOnlyDictionary<string, string> Photos
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<string, string>(_photos, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Publishes <paramref name="image"/> in this person's vCard and its SHA-1 in their room presence (XEP-0153), as clients do.</summary>
    public async Task SetAvatarAsync(byte[] image, string contentType, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        var path = Path.Combine(Path.GetTempPath(), "xmpp-person-avatar-" + id);
        await File.WriteAllBytesAsync(path, image);
        try
        {
            await SendLineAsync(JsonSerializer.Serialize(new { cmd = "avatar", id, path, type = contentType }));
            await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Removes this person's picture as clients do: a vCard without a photo, and an empty photo element in their room presence.</summary>
    public async Task RemoveAvatarAsync(TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new { cmd = "avatar", id, path = "", type = "" }));
        await WaitSentAsync(id, timeout ?? TimeSpan.FromSeconds(10));
    }

    /// <summary>Asks an occupant's vCard through the room (XEP-0054 as MUC clients do it) and returns it.</summary>
    public async Task<ReceivedVcard> GetVcardAsync(string nick, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendLineAsync(JsonSerializer.Serialize(new { cmd = "vcard", id, nick }));
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            lock (_gate)
            {
                if (_vcards.Remove(id, out var vcard))
                {
                    return vcard;
                }
            }

            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException($"{Nick}: no vCard of {nick}:\n{Log}");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Changes this person's nick in the room (XEP-0045 §7.6) and waits until the room shows the new one.</summary>
    public async Task ChangeNickAsync(string nick, TimeSpan? timeout = null)
    {
        await SendLineAsync(JsonSerializer.Serialize(new { cmd = "nick", nick }));
        await WaitForPresenceAsync(nick, "available", timeout ?? TimeSpan.FromSeconds(10));
        Nick = nick;
    }

    /// <summary>Waits for a presence of <paramref name="type"/> (available, unavailable) from an occupant.</summary>
    /// <summary>How many presences of this kind from this nick were seen so far (a rejoin adds one).</summary>
    public int PresenceCount(string nick, string type)
    {
        lock (_gate)
        {
            return _presences.Count(p => p.Nick == nick && p.Type == type);
        }
    }

    /// <summary>Waits until more than <paramref name="seenBefore"/> such presences were seen: a join after a restart.</summary>
    public async Task WaitForPresenceAfterAsync(string nick, string type, int seenBefore, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (PresenceCount(nick, type) <= seenBefore)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Nick}: no new '{type}' presence from {nick} within {timeout}:\n{Log}");
            }

            await Task.Delay(25);
        }
    }

    public async Task WaitForPresenceAsync(string nick, string type, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (_gate)
            {
                if (_presences.Contains((nick, type)))
                {
                    return;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Nick}: no '{type}' presence from {nick} within {timeout}:\n{Log}");
            }

            await Task.Delay(25);
        }
    }

    private async Task SendLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    private async Task WaitSentAsync(string id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (_gate)
            {
                if (_sent.Contains(id))
                {
                    return;
                }
            }

            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException($"{Nick}: message {id} not sent within {timeout}:\n{Log}");
            }

            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                await SendLineAsync("{\"cmd\":\"quit\"}");
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // Not answering: kill it by PID below.
        }

        if (!_process.HasExited)
        {
            _process.Kill();
        }

        _process.Dispose();
    }

    private void OnStderr(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _log.Add("stderr: " + line);
        }
    }

    private void OnLine(string? line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return;
        }

        var received = DateTimeOffset.UtcNow;
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line);
        }
        catch (JsonException)
        {
            lock (_gate)
            {
                _log.Add("stdout: " + line);
            }

            return;
        }

        lock (_gate)
        {
            _log.Add(line);
            switch ((string?)node?["event"])
            {
                case "joined":
                    Nick = (string?)node["nick"] ?? Nick;
                    _joined.TrySetResult();
                    break;
                case "presence":
                    _presences.Add(((string?)node["nick"] ?? "", (string?)node["type"] ?? "available"));
                    break;
                case "message":
                    _messages.Add(new ReceivedMessage(
                        (string?)node["from_nick"] ?? "",
                        (string?)node["body"] ?? "",
                        (string?)node["id"],
                        (string?)node["stanza_id"],
                        (bool?)node["delayed"] ?? false,
                        received,
                        (string?)node["replace_id"],
                        (node["bodies"] as JsonObject ?? []).ToDictionary(kv => kv.Key, kv => (string?)kv.Value ?? "", StringComparer.Ordinal),
                        [.. (node["oob"] as JsonArray ?? []).Select(u => (string?)u ?? "")])
                    {
                        Thread = (string?)node["thread"],
                        ReplyId = (string?)node["reply_id"],
                        References = [.. (node["references"] as JsonArray ?? []).OfType<JsonObject>()
                            .Select(r => new ReceivedReference((string?)r["type"] ?? "", (string?)r["uri"] ?? "", (string?)r["begin"], (string?)r["end"]))],
                    });
                    break;
                case "reaction":
                    _reactions.Add(new ReceivedReaction(
                        (string?)node["from_nick"] ?? "",
                        (string?)node["id"] ?? "",
                        [.. (node["keys"] as JsonArray ?? []).Select(k => (string?)k ?? "")],
                        received));
                    break;
                case "retract":
                    _retractions.Add(new ReceivedRetraction((string?)node["from_nick"] ?? "", (string?)node["id"] ?? "", received));
                    break;
                case "uploaded":
                    if ((string?)node["id"] is { } uploadId && (string?)node["url"] is { } uploadUrl)
                    {
                        _uploaded[uploadId] = uploadUrl;
                    }

                    break;
                case "sent":
                    if ((string?)node["id"] is { } sentId)
                    {
                        _sent.Add(sentId);
                    }

                    break;
                case "chatstate":
                    _chatStates.Add(((string?)node["from_nick"] ?? "", (string?)node["state"] ?? ""));
                    break;
                case "photo":
                    _photos[(string?)node["nick"] ?? ""] = (string?)node["hash"] ?? "";
                    break;
                case "vcard":
                    if ((string?)node["id"] is { } vcardId)
                    {
                        _vcards[vcardId] = new ReceivedVcard((string?)node["fn"], (string?)node["type"],
                            (string?)node["data"] is { } b64 ? Convert.FromBase64String(b64) : null);
                    }

                    break;
                case "private":
                    _privateMessages.Add(new PrivateMessage(
                        (string?)node["from"] ?? "",
                        (string?)node["from_nick"],
                        (string?)node["body"] ?? "",
                        received)
                    {
                        Id = (string?)node["id"],
                        ReplaceId = (string?)node["replace_id"],
                        RetractId = (string?)node["retract_id"],
                    });
                    break;
            }
        }
    }
}

/// <summary>A groupchat message as the client received it; <see cref="ReplaceId"/> is set on an XEP-0308 correction.</summary>
/// <param name="Bodies">Every &lt;body/&gt; by its language (xml:lang, or the stanza's; "" when neither says).</param>
/// <param name="Oob">The XEP-0066 out-of-band URLs (shared files) the message carries.</param>
public sealed record ReceivedMessage(string FromNick, string Body, string? Id, string? StanzaId, bool Delayed, DateTimeOffset ReceivedAt, string? ReplaceId = null,
    IReadOnlyDictionary<string, string>? Bodies = null, IReadOnlyList<string>? Oob = null)
{
    /// <summary>The XEP-0201 thread id, if any.</summary>
    public string? Thread { get; init; }

    /// <summary>The id an XEP-0461 reply names, if any.</summary>
    public string? ReplyId { get; init; }

    /// <summary>The XEP-0372 references.</summary>
    public IReadOnlyList<ReceivedReference> References { get; init; } = [];
}

/// <summary>An XEP-0372 reference as received (begin/end as written).</summary>
public sealed record ReceivedReference(string Type, string Uri, string? Begin, string? End);

/// <summary>An XEP-0444 reactions message: who reacted, to which message id, with which keys.</summary>
public sealed record ReceivedRetraction(string FromNick, string TargetId, DateTimeOffset ReceivedAt);

public sealed record ReceivedReaction(string FromNick, string TargetId, IReadOnlyList<string> Keys, DateTimeOffset ReceivedAt);

public sealed record PrivateMessage(string From, string? FromNick, string Body, DateTimeOffset ReceivedAt)
{
    /// <summary>The stanza's id.</summary>
    public string? Id { get; init; }

    /// <summary>The id an XEP-0308 correction names, if any.</summary>
    public string? ReplaceId { get; init; }

    /// <summary>The id an XEP-0424 retraction names, if any.</summary>
    public string? RetractId { get; init; }
}

/// <summary>A vCard as the client received it: the full name, and the photo's type and bytes (null when it has none).</summary>
public sealed record ReceivedVcard(string? FullName, string? PhotoType, byte[]? Photo);
