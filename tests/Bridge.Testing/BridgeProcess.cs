using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Bridge.Testing;

/// <summary>
/// The real daemon (`bridge run`) as a child process, so tests can SIGTERM and SIGKILL it.
/// Output is kept for assertions and shown when a test fails.
/// </summary>
public sealed partial class BridgeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _gate = new();

    private BridgeProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _output.ToString();
            }
        }
    }

    /// <param name="readyText">The log line that says the process is up ("Bridge started"; a standby says "Standing by").</param>
    /// <param name="daemon">Another build's executable (a bench's <c>--vs</c>); by default BRIDGE_TEST_DAEMON, else this build.</param>
    public static async Task<BridgeProcess> StartAsync(string configPath, TimeSpan? readyTimeout = null, IDictionary<string, string>? environment = null, string readyText = "Bridge started",
        string? daemon = null)
    {
        // BRIDGE_TEST_DAEMON runs another build of the daemon (e.g. a commit before a fix, to see a test fail without it).
        var exe = daemon ?? (Environment.GetEnvironmentVariable("BRIDGE_TEST_DAEMON") is { Length: > 0 } other ? other : Path.Combine(AppContext.BaseDirectory, "bridge"));
        var info = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(configPath)!,
        };
        info.ArgumentList.Add("run");
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(configPath);
        info.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[k] = v;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the bridge");
        var bridge = new BridgeProcess(process);
        process.OutputDataReceived += (_, e) => bridge.Append(e.Data);
        process.ErrorDataReceived += (_, e) => bridge.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await bridge.WaitForOutputAsync(readyText, readyTimeout ?? TimeSpan.FromSeconds(30));
        }
        catch
        {
            // A daemon that never became ready must not outlive the caller's attempt (it holds the store and ports).
            await bridge.DisposeAsync();
            throw;
        }

        return bridge;
    }

    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"bridge exited ({_process.ExitCode}) before printing '{text}':\n{Output}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"bridge did not print '{text}' within {timeout}:\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Sends a signal (e.g. SIGSTOP 19 to freeze the process, SIGCONT 18 to wake it).</summary>
    public void Signal(int signal)
    {
        if (!_process.HasExited)
        {
            _ = SendSignal(_process.Id, signal);
        }
    }

    /// <summary>SIGKILL: no chance to clean up, as in a crash.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM, as systemd stops a service; waits for the drain to finish.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            _ = SendSignal(_process.Id, 15);
            using var cts = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(cts.Token);
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _output.AppendLine(line);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
