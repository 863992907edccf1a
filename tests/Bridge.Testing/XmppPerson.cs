using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bridge.Testing;

/// <summary>
/// A real person on XMPP: Debian's slixmpp driven through <c>tests/tools/xmpp_person.py</c>, in one MUC room.
/// Every message it receives is kept, with the time it arrived.
/// </summary>
public sealed class XmppPerson : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<ReceivedMessage> _messages = [];
    private readonly List<string> _log = [];
    private int _disposed;
    private readonly List<(string Nick, string Type)> _presences = [];
    private readonly List<PrivateMessage> _privateMessages = [];
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private XmppPerson(Process process, string nick)
    {
        _process = process;
        Nick = nick;
    }

    public string Nick { get; }

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

    public static async Task<XmppPerson> JoinAsync(IXmppTestServer server, string user, string password, string room, string nick, TimeSpan? timeout = null, int history = 0)
    {
        ArgumentNullException.ThrowIfNull(server);
        var info = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-u");
        info.ArgumentList.Add(RepoPaths.Tool("xmpp_person.py"));
        info.ArgumentList.Add($"{user}@{server.Domain}");
        info.ArgumentList.Add(password);
        info.ArgumentList.Add("127.0.0.1");
        info.ArgumentList.Add(server.C2sPort.ToString());
        info.ArgumentList.Add(room);
        info.ArgumentList.Add(nick);
        // How much room history to ask for on join (0: none, as a person who was there all along).
        info.Environment["XMPP_PERSON_HISTORY"] = history.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start python3");
        var person = new XmppPerson(process, nick);
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

    public async Task SayAsync(string body)
    {
        var line = JsonSerializer.Serialize(new { cmd = "say", body });
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
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

    /// <summary>Waits for a presence of <paramref name="type"/> (available, unavailable) from an occupant.</summary>
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
                await _process.StandardInput.WriteLineAsync("{\"cmd\":\"quit\"}");
                await _process.StandardInput.FlushAsync();
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
                        received));
                    break;
                case "private":
                    _privateMessages.Add(new PrivateMessage(
                        (string?)node["from"] ?? "",
                        (string?)node["from_nick"],
                        (string?)node["body"] ?? "",
                        received));
                    break;
            }
        }
    }
}

public sealed record ReceivedMessage(string FromNick, string Body, string? Id, string? StanzaId, bool Delayed, DateTimeOffset ReceivedAt);

public sealed record PrivateMessage(string From, string? FromNick, string Body, DateTimeOffset ReceivedAt);
