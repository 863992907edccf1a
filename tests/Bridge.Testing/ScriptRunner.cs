using System.Diagnostics;

namespace Bridge.Testing;

/// <summary>Runs one of the project's scripts (or any program) and fails with its output when it fails.</summary>
public static class ScriptRunner
{
    /// <summary>Runs <paramref name="script"/> with bash; returns stdout then stderr.</summary>
    public static Task<string> RunAsync(string script, IEnumerable<string> args, IDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var argList = args.ToList();
        return RunCoreAsync("bash", [script, .. argList], environment, timeout, $"{Path.GetFileName(script)} {string.Join(' ', argList)}");
    }

    /// <summary>Runs <paramref name="program"/> directly (e.g. <c>/usr/bin/python3</c> with a test tool); returns stdout then stderr.</summary>
    public static Task<string> RunProgramAsync(string program, IEnumerable<string> args, TimeSpan? timeout = null, IDictionary<string, string>? environment = null)
    {
        var argList = args.ToList();
        return RunCoreAsync(program, argList, environment, timeout, $"{program} {string.Join(' ', argList)}");
    }

    private static async Task<string> RunCoreAsync(string program, IReadOnlyList<string> args, IDictionary<string, string>? environment, TimeSpan? timeout, string display)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[k] = v;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromMinutes(5);
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{display} did not finish within {limit}");
        }

        var output = await stdout + await stderr;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{display} failed ({process.ExitCode}):\n{output}");
        }

        return output;
    }
}
