using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Translation;

/// <summary>
/// Apertium, the rule-based engine from Debian's packages (<c>apertium</c> plus one package per language pair, e.g.
/// <c>apertium-eng-spa</c>): works with no network at all. Two ways to run it, chosen by <c>mode:</c>:
/// <c>process</c> keeps one pipeline per language pair running in null-flush mode (<c>-z</c>: each text ends with a
/// NUL and the answer comes back ended by one), so the dictionaries are loaded once; <c>per-message</c> starts
/// <c>apertium -u &lt;pair&gt;</c> for every text. <c>scripts/bench.sh --translate</c> measures both; the long-lived
/// pipeline is the default (docs/translation.md has the figures).
/// </summary>
internal sealed class ApertiumEngine : ITranslationEngine
{
    private readonly TranslationEngineOptions _options;
    private readonly IReadOnlySet<string> _pairs;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ApertiumPipeline> _pipelines = new(StringComparer.Ordinal);
    private readonly bool _longLived;

    public ApertiumEngine(string id, TranslationEngineOptions options, IReadOnlySet<string> installedPairs, ILogger logger)
    {
        Id = id;
        _options = options;
        _pairs = installedPairs;
        _logger = logger;
        _longLived = !string.Equals(options.Mode, "per-message", StringComparison.Ordinal);
    }

    public string Id { get; }

    /// <summary>The pairs installed in <paramref name="modesDirectory"/> (<c>eng-spa</c> for eng-spa.mode), as <c>apertium -l</c> lists them.</summary>
    public static IReadOnlySet<string> InstalledPairs(string modesDirectory)
    {
        if (!Directory.Exists(modesDirectory))
        {
            return new HashSet<string>(StringComparer.Ordinal);
        }

        return Directory.EnumerateFiles(modesDirectory, "*.mode").Select(f => Path.GetFileNameWithoutExtension(f)!).ToHashSet(StringComparer.Ordinal);
    }

    public static string PairName(string from, string to) => $"{LanguageCode.Apertium(from)}-{LanguageCode.Apertium(to)}";

    public bool Supports(string from, string to) => _pairs.Contains(PairName(from, to));

    public async Task<string> TranslateAsync(string text, string from, string to, CancellationToken cancellationToken)
    {
        var pair = PairName(from, to);
        if (!_pairs.Contains(pair))
        {
            throw new TranslationEngineException($"apertium pair {pair} is not installed");
        }

        if (!_longLived)
        {
            return await PerMessageAsync(pair, text, cancellationToken);
        }

        ApertiumPipeline pipeline;
        lock (_gate)
        {
            if (!_pipelines.TryGetValue(pair, out pipeline!))
            {
                pipeline = new ApertiumPipeline(Path.Combine(_options.ModesDirectory, pair + ".mode"), _logger);
                _pipelines[pair] = pipeline;
            }
        }

        return await pipeline.TranslateAsync(text, cancellationToken);
    }

    private async Task<string> PerMessageAsync(string pair, string text, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(_options.Command)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("-u");
        start.ArgumentList.Add(pair);
        using var process = Process.Start(start) ?? throw new TranslationEngineException("apertium did not start");
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.StandardInput.WriteAsync(text.AsMemory(), cancellationToken);
            process.StandardInput.Close();
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0)
            {
                throw new TranslationEngineException($"apertium exited with {process.ExitCode}: {(await errors).Trim()}");
            }

            // apertium ends its output with the line break the text may not have had.
            var translated = await output;
            return text.EndsWith('\n') ? translated : translated.TrimEnd('\n');
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        List<ApertiumPipeline> all;
        lock (_gate)
        {
            all = [.. _pipelines.Values];
            _pipelines.Clear();
        }

        foreach (var pipeline in all)
        {
            pipeline.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// One long-lived Apertium pipeline (the pair's <c>.mode</c> file, every stage in null-flush mode), fed text that is
/// formatted the way <c>apertium-destxt</c> would (special characters escaped, line breaks and placeholders as
/// "superblanks" the stages pass through untouched) and read back the way <c>apertium-retxt</c> would. One text at a
/// time; a text that runs past its budget leaves the stream in an unknown state, so the pipeline is killed and started
/// again on the next text.
/// </summary>
internal sealed class ApertiumPipeline(string modeFile, ILogger logger) : IDisposable
{
    private const string Escaped = "\\[]^$/@<>{}";
    private readonly SemaphoreSlim _one = new(1, 1);
    private Process? _process;
    private readonly byte[] _buffer = new byte[8192];
    private readonly MemoryStream _pending = new();

    public async Task<string> TranslateAsync(string text, CancellationToken cancellationToken)
    {
        await _one.WaitAsync(cancellationToken);
        try
        {
            var process = _process ??= Start();
            var input = Encoding.UTF8.GetBytes(Deformat(text));
            // A read that ignores cancellation still ends: killing the pipeline closes its output.
            using var onCancel = cancellationToken.Register(() => KillQuietly(process));
            try
            {
                var stdin = process.StandardInput.BaseStream;
                await stdin.WriteAsync(input, cancellationToken);
                await stdin.WriteAsync(new byte[] { 0 }, cancellationToken);
                await stdin.FlushAsync(cancellationToken);
                var answer = await ReadUntilNulAsync(process.StandardOutput.BaseStream, cancellationToken);
                return Reformat(answer);
            }
            catch
            {
                // Cancelled mid-text or the pipeline died: its stream is out of step; start afresh next time.
                Kill();
                throw;
            }
        }
        finally
        {
            _one.Release();
        }
    }

    private Process Start()
    {
        var stages = File.ReadAllText(modeFile).Trim()
            .Replace("$1", "-n", StringComparison.Ordinal)
            .Replace("$2", "", StringComparison.Ordinal)
            .Split('|')
            .Select(stage => stage.Trim())
            .Select(stage => stage.IndexOf(' ', StringComparison.Ordinal) is var space and > 0 ? stage[..space] + " -z" + stage[space..] : stage + " -z")
            // Most stages of Debian's build (lttoolbox 3.7, apertium 3.8: lt-proc -b/-n/-p, lrx-proc, apertium-transfer
            // -b, apertium-interchunk) write the NUL but do not flush their stdio buffer on it, so an answer would sit in
            // a pipe until 4 KiB more text arrived. stdbuf -o0 (coreutils) makes their output unbuffered; -oL would not
            // do, the answer ends with a NUL, not a line break.
            .Select(stage => "stdbuf -o0 " + stage);
        // setsid: the shell and every stage form one process group, killed as one (KillGroup). A tree kill that stops
        // and kills process by process can leave a stage stopped, and the stages after it waiting on it for ever.
        var start = new ProcessStartInfo("setsid")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("/bin/sh");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(string.Join(" | ", stages));
        var process = Process.Start(start) ?? throw new TranslationEngineException("the apertium pipeline did not start");
        logger.LogInformation(TranslationLog.PipelineStarted, "Apertium pipeline {Mode} started (pid {Pid})", Path.GetFileName(modeFile), process.Id);
        _pending.SetLength(0);
        return process;
    }

    private async Task<byte[]> ReadUntilNulAsync(Stream stdout, CancellationToken cancellationToken)
    {
        while (true)
        {
            var pending = _pending.GetBuffer().AsSpan(0, (int)_pending.Length);
            var nul = pending.IndexOf((byte)0);
            if (nul >= 0)
            {
                var answer = pending[..nul].ToArray();
                var rest = pending[(nul + 1)..].ToArray();
                _pending.SetLength(0);
                _pending.Write(rest);
                return answer;
            }

            var read = await stdout.ReadAsync(_buffer, cancellationToken);
            if (read == 0)
            {
                throw new TranslationEngineException("the apertium pipeline ended");
            }

            _pending.Write(_buffer, 0, read);
        }
    }

    /// <summary>What <c>apertium-destxt</c> does, plus placeholders as superblanks.</summary>
    internal static string Deformat(string text)
    {
        var sb = new StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == MarkerGuard.Open && text.IndexOf(MarkerGuard.Close, i) is var close and > 0)
            {
                sb.Append('[').Append(text, i, close - i + 1).Append(']');
                i = close;
            }
            else if (c is '\n' or '\r' or '\t')
            {
                sb.Append('[').Append(c).Append(']');
            }
            else if (c == '\0')
            {
                sb.Append(' ');
            }
            else
            {
                if (Escaped.Contains(c, StringComparison.Ordinal))
                {
                    sb.Append('\\');
                }

                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>What <c>apertium-retxt</c> does: superblank brackets dropped, escapes undone.</summary>
    internal static string Reformat(byte[] output)
    {
        var s = Encoding.UTF8.GetString(output);
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '\\' && i + 1 < s.Length)
            {
                sb.Append(s[++i]);
            }
            else if (c is not ('[' or ']'))
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static void KillQuietly(Process process)
    {
        KillGroup(process);
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    /// <summary>SIGKILL to the pipeline's process group (its id is the shell's, set by setsid): every stage at once.</summary>
    private static void KillGroup(Process process)
    {
        try
        {
            var kill = new ProcessStartInfo("kill") { UseShellExecute = false, RedirectStandardError = true };
            kill.ArgumentList.Add("-KILL");
            kill.ArgumentList.Add("--");
            kill.ArgumentList.Add("-" + process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var killer = Process.Start(kill);
            killer?.WaitForExit(5000);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // No kill(1), or the pipeline is already gone: the tree kill below still runs.
        }
    }

    private void Kill()
    {
        if (_process is { } process)
        {
            _process = null;
            KillQuietly(process);

            process.Dispose();
        }
    }

    public void Dispose()
    {
        Kill();
        _one.Dispose();
    }
}
