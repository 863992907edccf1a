using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Bridge.Testing;

/// <summary>
/// One PostgreSQL server for all PostgreSQL tests: the one named by <c>BRIDGE_TEST_PG</c> (a connection string), or else a private
/// cluster started with <c>scripts/postgres.sh</c> on a free loopback port and stopped (by its PID file) afterwards.
/// When neither works the tests fail with the reason: a silently skipped database suite would hide a broken store.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string EnvironmentVariable = "BRIDGE_TEST_PG";

    private string? _clusterDirectory;
    private string? _script;

    /// <summary>Connection string of a database in which tests may create and drop schemas.</summary>
    public string ConnectionString { get; private set; } = "";

    private PostgresServer()
    {
    }

    public static async Task<PostgresServer> StartAsync()
    {
        var server = new PostgresServer();
        await server.InitializeAsync();
        return server;
    }

    private async Task InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            ConnectionString = configured;
            return;
        }

        _script = FindScript();
        var failures = new List<string>();
        for (var attempt = 0; attempt < 2; attempt++)
        {
            // The port could be taken between choosing it and the server binding it; one retry on a fresh port covers that.
            var directory = CreateClusterDirectory();
            var (exitCode, stdout, stderr) = await RunScriptAsync("start", directory, FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (exitCode == 0)
            {
                _clusterDirectory = directory;
                ConnectionString = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
                return;
            }

            failures.Add($"exit code {exitCode}:\n{stderr}{stdout}");
            await RunScriptAsync("stop", directory);
            TryDelete(directory);
        }

        var ci = string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")) ? "" : " (CI is set: the CI job must install PostgreSQL)";
        throw new InvalidOperationException(
            $"PostgreSQL could not be started by {_script}{ci}. Install it (apt-get install postgresql) or set {EnvironmentVariable} " +
            "to the connection string of a database where the tests may create schemas.\n" + string.Join("\n---\n", failures));
    }

    /// <summary>A fast restart of the private cluster: every session ends, as in a database failover or crash.</summary>
    public async Task RestartAsync()
    {
        if (_clusterDirectory is null)
        {
            throw new InvalidOperationException($"only a private cluster can be restarted (unset {EnvironmentVariable})");
        }

        var (exitCode, stdout, stderr) = await RunScriptAsync("restart", _clusterDirectory);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"postgres.sh restart failed ({exitCode}): {stderr}{stdout}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_clusterDirectory is not null)
        {
            await RunScriptAsync("stop", _clusterDirectory);
            TryDelete(_clusterDirectory);
        }
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunScriptAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(_script!);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start bash");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();

        // Generous: the first run may apt-get install PostgreSQL.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, await stdout, await stderr + "\n(timed out)");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// Under /tmp rather than $TMPDIR: when the tests run as root the server runs as the postgres user, which needs every
    /// parent directory to be searchable, and a TMPDIR under a private home would not be.
    /// </summary>
    private static string CreateClusterDirectory()
    {
        var root = Directory.Exists("/tmp") ? "/tmp" : Path.GetTempPath();
        var directory = Path.Combine(root, "bridge-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        return directory;
    }


    private static string FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "scripts", "postgres.sh");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"scripts/postgres.sh not found above {AppContext.BaseDirectory}; set {EnvironmentVariable} instead");
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless; the test outcome matters more.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
