using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Sandbox.Mattermost.Testing;

/// <summary>
/// Runs tests/node/mmuser.js: the official <c>@mattermost/client</c> (Client4 + WebSocketClient) as a normal user,
/// driven by JSON lines over stdin/stdout. Installs node_modules with npm first when they are missing.
/// </summary>
public sealed class NodeMattermostClient : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode?>> _pending = new();
    private readonly StringBuilder _stderr = new();
    private readonly Task _readerTask;
    private int _nextId;

    private NodeMattermostClient(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
        _readerTask = Task.Run(ReadLoopAsync);
    }

    /// <summary>What the Node side wrote to stderr (client library logging), for assertion messages.</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts the helper; <paramref name="nodeDirectory"/> defaults to tests/node found above the test binaries.</summary>
    public static async Task<NodeMattermostClient> StartAsync(Uri serverUrl, string? nodeDirectory = null, CancellationToken cancellationToken = default)
    {
        var dir = nodeDirectory ?? FindNodeDirectory();
        await EnsureInstalledAsync(dir, cancellationToken);
        var psi = new ProcessStartInfo("node", "mmuser.js")
        {
            WorkingDirectory = dir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start node");
        var ready = await process.StandardOutput.ReadLineAsync(cancellationToken);
        if (ready is null || !ready.Contains("\"ready\"", StringComparison.Ordinal))
        {
            process.Kill();
            throw new InvalidOperationException("mmuser.js did not start: " + await process.StandardError.ReadToEndAsync(cancellationToken));
        }
        var client = new NodeMattermostClient(process);
        await client.CallAsync("setup", new JsonObject { ["url"] = serverUrl.ToString().TrimEnd('/') }, cancellationToken);
        return client;
    }

    /// <summary>Sends one command; throws <see cref="NodeClientException"/> when the client library threw.</summary>
    public async Task<JsonNode?> CallAsync(string command, JsonObject? args = null, CancellationToken cancellationToken = default)
    {
        var id = Interlocked.Increment(ref _nextId);
        var tcs = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        var line = new JsonObject { ["id"] = id, ["cmd"] = command, ["args"] = args ?? [] }.ToJsonString();
        await _process.StandardInput.WriteLineAsync(line.AsMemory(), cancellationToken);
        await _process.StandardInput.FlushAsync(cancellationToken);
        using var reg = cancellationToken.Register(() => tcs.TrySetCanceled(cancellationToken));
        return await tcs.Task;
    }

    public Task<JsonNode?> LoginAsync(string loginId, string password, CancellationToken ct = default) =>
        CallAsync("login", new JsonObject { ["login_id"] = loginId, ["password"] = password }, ct);

    public Task<JsonNode?> CreatePostAsync(string channelId, string message, string rootId = "", JsonObject? props = null, CancellationToken ct = default)
    {
        var args = new JsonObject { ["channel_id"] = channelId, ["message"] = message, ["root_id"] = rootId };
        if (props is not null)
        {
            args["props"] = props;
        }
        return CallAsync("createPost", args, ct);
    }

    public Task<JsonNode?> AddReactionAsync(string postId, string emojiName, CancellationToken ct = default) =>
        CallAsync("addReaction", new JsonObject { ["post_id"] = postId, ["emoji_name"] = emojiName }, ct);

    /// <summary>Calls any Client4 method by name with positional parameters.</summary>
    public Task<JsonNode?> Client4Async(string method, JsonArray parameters, CancellationToken ct = default) =>
        CallAsync("call", new JsonObject { ["method"] = method, ["params"] = parameters }, ct);

    public Task<JsonNode?> ConnectWebSocketAsync(CancellationToken ct = default) => CallAsync("wsConnect", null, ct);

    /// <summary>Waits for an event (data.post / data.reaction already decoded from their JSON strings).</summary>
    public Task<JsonNode?> WaitEventAsync(string eventName, string? message = null, string? postId = null, int from = 0, int timeoutMs = 10000, CancellationToken ct = default)
    {
        var args = new JsonObject { ["event"] = eventName, ["from"] = from, ["timeoutMs"] = timeoutMs };
        if (message is not null)
        {
            args["message"] = message;
        }
        if (postId is not null)
        {
            args["post_id"] = postId;
        }
        return CallAsync("waitEvent", args, ct);
    }

    public Task<JsonNode?> WebSocketStatusAsync(CancellationToken ct = default) => CallAsync("wsStatus", null, ct);

    private async Task ReadLoopAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            JsonObject? msg;
            try
            {
                msg = JsonNode.Parse(line) as JsonObject;
            }
            catch (System.Text.Json.JsonException)
            {
                continue;
            }
            if (msg?["id"] is not JsonValue idv || !idv.TryGetValue<int>(out var id) || !_pending.TryRemove(id, out var tcs))
            {
                continue;
            }
            if (msg["ok"]?.GetValue<bool>() == true)
            {
                tcs.TrySetResult(msg["result"]);
            }
            else
            {
                var err = msg["error"] as JsonObject;
                tcs.TrySetException(new NodeClientException(
                    err?["message"]?.ToString() ?? "error",
                    err?["server_error_id"]?.ToString(),
                    err?["status_code"] is JsonValue sc && sc.TryGetValue<int>(out var code) ? code : 0));
            }
        }
        foreach (var tcs in _pending.Values)
        {
            tcs.TrySetException(new InvalidOperationException("mmuser.js exited: " + StandardError));
        }
    }

    private static string FindNodeDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "node");
            if (File.Exists(Path.Combine(candidate, "mmuser.js")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("tests/node/mmuser.js not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs npm ci (or npm install) once; a lock file keeps parallel test classes from installing twice.</summary>
    private static async Task EnsureInstalledAsync(string dir, CancellationToken ct)
    {
        var marker = Path.Combine(dir, "node_modules", "@mattermost", "client", "package.json");
        var wsMarker = Path.Combine(dir, "node_modules", "ws", "package.json");
        if (File.Exists(marker) && File.Exists(wsMarker))
        {
            return;
        }
        var lockPath = Path.Combine(Path.GetTempPath(), "mmuser-npm-" + dir.GetHashCode(StringComparison.Ordinal).ToString("x", CultureInfo.InvariantCulture) + ".lock");
        FileStream? lockFile = null;
        while (lockFile is null)
        {
            try
            {
                lockFile = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(200, ct);
            }
        }
        await using (lockFile)
        {
            if (File.Exists(marker) && File.Exists(wsMarker))
            {
                return;
            }
            var args = File.Exists(Path.Combine(dir, "package-lock.json")) ? "ci --no-audit --no-fund" : "install --no-audit --no-fund";
            var psi = new ProcessStartInfo("npm", args)
            {
                WorkingDirectory = dir,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var npm = Process.Start(psi) ?? throw new InvalidOperationException("could not start npm");
            var stdout = npm.StandardOutput.ReadToEndAsync(ct);
            var stderr = npm.StandardError.ReadToEndAsync(ct);
            await npm.WaitForExitAsync(ct);
            if (npm.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm {args} failed ({npm.ExitCode}): {await stdout}\n{await stderr}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                try
                {
                    await _process.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            await _readerTask;
        }
        finally
        {
            _process.Dispose();
        }
    }
}

public sealed class NodeClientException : Exception
{
    public NodeClientException(string message, string? serverErrorId, int statusCode) : base(message)
    {
        ServerErrorId = serverErrorId;
        StatusCode = statusCode;
    }

    public NodeClientException()
    {
    }

    public NodeClientException(string message) : base(message)
    {
    }

    public NodeClientException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public string? ServerErrorId { get; }
    public int StatusCode { get; }
}
