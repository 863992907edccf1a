using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bridge.Xmpp.Tests.Fixtures;

/// <summary>A groupchat message as a real client (slixmpp) received it.</summary>
public sealed record PersonMessage(string FromNick, string Body, string? Id, string? StanzaId, bool Delayed, string? ReplaceId);

/// <summary>
/// A real XMPP person: <c>tests/tools/xmpp_person.py</c> (slixmpp, Debian's /usr/bin/python3) logged in over plaintext
/// c2s, joined to one room, driven over stdin/stdout JSON lines. Killed by PID on dispose.
/// </summary>
public sealed class XmppPerson : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<PersonMessage> _messages = [];
    private readonly List<(string FromNick, string Body)> _private = [];
    private readonly List<JsonObject> _events = [];
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _changed = new(0, int.MaxValue);
    private readonly Task _readLoop;
    private readonly StringWriter _stderr = new();

    private XmppPerson(Process process, string room)
    {
        _process = process;
        Room = room;
        _readLoop = Task.Run(ReadLoopAsync);
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_lock)
                {
                    _stderr.WriteLine(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
    }

    public string Room { get; }

    public string Nick { get; private set; } = "";

    public int ProcessId => _process.Id;

    public IReadOnlyList<PersonMessage> Messages
    {
        get
        {
            lock (_lock)
            {
                return _messages.ToList();
            }
        }
    }

    /// <summary>MUC private messages received (from nick, body).</summary>
    public IReadOnlyList<(string FromNick, string Body)> PrivateMessages
    {
        get
        {
            lock (_lock)
            {
                return _private.ToList();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_lock)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts the client and waits until it is in the room.</summary>
    public static async Task<XmppPerson> StartAsync(string jid, string password, int clientPort, string room, string nick, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-u", RepoPaths.PersonTool, jid, password, "127.0.0.1", clientPort.ToString(), room, nick })
        {
            psi.ArgumentList.Add(arg);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start xmpp_person.py");
        var person = new XmppPerson(process, room);
        try
        {
            var joined = await person.WaitForEventAsync(e => (string?)e["event"] == "joined", timeout ?? TimeSpan.FromSeconds(20));
            person.Nick = (string?)joined["nick"] ?? nick;
            return person;
        }
        catch
        {
            await person.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends a groupchat message; returns its id.</summary>
    public async Task<string> SayAsync(string body, TimeSpan? timeout = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendCommandAsync(new JsonObject { ["cmd"] = "say", ["body"] = body, ["id"] = id });
        await WaitForEventAsync(e => (string?)e["event"] == "sent" && (string?)e["id"] == id, timeout ?? TimeSpan.FromSeconds(10));
        return id;
    }

    /// <summary>Sends an XEP-0308 correction of one of our messages.</summary>
    public async Task<string> CorrectAsync(string originalId, string body)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendCommandAsync(new JsonObject { ["cmd"] = "correct", ["id"] = originalId, ["new_id"] = id, ["body"] = body });
        await WaitForEventAsync(e => (string?)e["event"] == "sent" && (string?)e["id"] == id, TimeSpan.FromSeconds(10));
        return id;
    }

    /// <summary>Waits until at least <paramref name="count"/> received messages match; returns them in arrival order.</summary>
    public async Task<IReadOnlyList<PersonMessage>> WaitForMessagesAsync(Func<PersonMessage, bool> predicate, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var matching = Messages.Where(predicate).ToList();
            if (matching.Count >= count)
            {
                return matching;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || _process.HasExited)
            {
                throw new TimeoutException($"{Nick}: {matching.Count} of {count} expected messages after {timeout}; stderr: {StandardError}");
            }

            await _changed.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
        }
    }

    private async Task<JsonObject> WaitForEventAsync(Func<JsonObject, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (_lock)
            {
                var found = _events.FirstOrDefault(predicate);
                if (found is not null)
                {
                    return found;
                }
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || (_process.HasExited && _readLoop.IsCompleted))
            {
                throw new TimeoutException($"xmpp_person.py: expected event not seen within {timeout}; stderr: {StandardError}");
            }

            await _changed.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
        }
    }

    private async Task SendCommandAsync(JsonObject command)
    {
        await _process.StandardInput.WriteLineAsync(command.ToJsonString());
        await _process.StandardInput.FlushAsync();
    }

    private async Task ReadLoopAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            JsonObject? e;
            try
            {
                e = JsonNode.Parse(line) as JsonObject;
            }
            catch (JsonException)
            {
                continue;
            }

            if (e is null)
            {
                continue;
            }

            lock (_lock)
            {
                _events.Add(e);
                if ((string?)e["event"] == "message")
                {
                    _messages.Add(new PersonMessage((string?)e["from_nick"] ?? "", (string?)e["body"] ?? "", (string?)e["id"], (string?)e["stanza_id"],
                        (bool?)e["delayed"] ?? false, (string?)e["replace_id"]));
                }
                else if ((string?)e["event"] == "private")
                {
                    _private.Add(((string?)e["from_nick"] ?? "", (string?)e["body"] ?? ""));
                }
            }

            _changed.Release();
        }

        _changed.Release();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await SendCommandAsync(new JsonObject { ["cmd"] = "quit" });
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // fall through to the kill
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(); // this process only, by its PID
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
