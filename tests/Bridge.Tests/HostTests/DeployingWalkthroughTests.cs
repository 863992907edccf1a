using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Bridge.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.HostTests;

/// <summary>
/// Follows docs/deploying.md as a newcomer would: every <c>sh</c> block, in order, as written, with the install paths
/// (<c>/opt/bridge</c>, <c>/etc/bridge</c>, <c>/var/lib/bridge</c>) moved under a temporary folder. The steps that need
/// root and systemd (the user, ownership, the unit, journalctl, curl) are replaced by what systemd would do: start the
/// unit's <c>ExecStart</c> with the unit's <c>EnvironmentFile</c>, then the test asks <c>/healthz</c> itself.
/// </summary>
public sealed partial class DeployingWalkthroughTests(ITestOutputHelper output)
{
    private static readonly string[] SystemdSteps = ["useradd ", "chgrp ", "chmod 0640 ", "cp deploy/", "systemctl ", "journalctl ", "curl "];

    [GeneratedRegex("```sh\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ShellBlock();

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_deploying_walkthrough_works_as_written()
    {
        using var root = new TempDirectory();
        string Moved(string text) => text
            .Replace("/opt/bridge", $"{root.Path}/opt/bridge", StringComparison.Ordinal)
            .Replace("/etc/bridge", $"{root.Path}/etc/bridge", StringComparison.Ordinal)
            .Replace("/var/lib/bridge", $"{root.Path}/var/lib/bridge", StringComparison.Ordinal);

        var doc = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "docs", "deploying.md"));
        var blocks = ShellBlock().Matches(doc).Select(m => m.Groups[1].Value).ToList();
        Assert.True(blocks.Count >= 6, "docs/deploying.md should hold the walkthrough's command blocks");
        var script = new StringBuilder("set -euo pipefail\n");
        var skipped = new List<string>();
        foreach (var line in blocks.SelectMany(b => b.Split('\n')))
        {
            if (SystemdSteps.Any(s => line.StartsWith(s, StringComparison.Ordinal)))
            {
                skipped.Add(line);
                continue;
            }

            script.AppendLine(Moved(line));
        }

        // The example names host paths and ports of a real host; the environment moves them, as an operator could.
        var adminPort = FreePorts.Next();
        var overrides = new Dictionary<string, string>
        {
            ["BRIDGE_DATABASE__SQLITE__PATH"] = $"{root.Path}/var/lib/bridge/bridge.db",
            ["BRIDGE_DATABASE__SECRETSKEYFILE"] = $"{root.Path}/etc/bridge/secrets.key",
            ["BRIDGE_AUDIT__KEYFILE"] = $"{root.Path}/etc/bridge/audit.key",
            ["BRIDGE_NETWORKS__MATRIX__MATRIX__REGISTRATIONFILE"] = $"{root.Path}/etc/bridge/registration.yaml",
            ["BRIDGE_NETWORKS__MATRIX__MATRIX__LISTEN"] = $"http://127.0.0.1:{FreePorts.Next()}",
            ["BRIDGE_ADMIN__LISTEN"] = $"http://127.0.0.1:{adminPort}",
            ["BRIDGE_NETWORKS__ORG-A-XMPP__XMPP__PORT"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        // From the checkout's root, as the walkthrough's relative paths (src/, examples/, deploy/) assume.
        var text = await ScriptRunner.RunProgramAsync("/bin/bash", ["-c", $"cd '{RepoPaths.Root}'\n{script}"], TimeSpan.FromMinutes(10), overrides);
        output.WriteLine(text);
        output.WriteLine("left to systemd: " + string.Join(" | ", skipped));
        var installed = await File.ReadAllTextAsync($"{root.Path}/etc/bridge/bridge.yaml");
        Assert.Matches(new Regex("^  secretsKeyFile: /etc/bridge/secrets.key", RegexOptions.Multiline), installed);
        Assert.Matches(new Regex("^  keyFile: /etc/bridge/audit.key", RegexOptions.Multiline), installed);
        Assert.DoesNotContain("warning: audit:key", text, StringComparison.Ordinal);

        // What the unit does: ExecStart with the EnvironmentFile's variables, in its WorkingDirectory.
        var unit = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "deploy", "bridge.service"));
        var execStart = Moved(Regex.Match(unit, "^ExecStart=(.+)$", RegexOptions.Multiline).Groups[1].Value).Split(' ');
        Assert.EndsWith("/opt/bridge/bridge", execStart[0], StringComparison.Ordinal);
        var environment = new Dictionary<string, string>(overrides);
        foreach (var line in File.ReadAllLines($"{root.Path}/etc/bridge/bridge.env").Where(l => l.Contains('=', StringComparison.Ordinal)))
        {
            environment[line[..line.IndexOf('=', StringComparison.Ordinal)]] = line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..];
        }

        using var bridge = Start(execStart[0], execStart[1..], environment);
        var log = new StringBuilder();
        bridge.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        bridge.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        bridge.BeginOutputReadLine();
        bridge.BeginErrorReadLine();
        try
        {
            // The example's servers are not here: the bridge runs, says so on /healthz, and keeps trying.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            HttpResponseMessage? health = null;
            var body = "";
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            while ((health is null || body == "starting\n") && DateTime.UtcNow < deadline && !bridge.HasExited)
            {
                try
                {
                    health = await http.GetAsync(new Uri($"http://127.0.0.1:{adminPort}/healthz"));
                    body = await health.Content.ReadAsStringAsync();
                    if (body == "starting\n")
                    {
                        await Task.Delay(250);
                    }
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(500);
                }
            }

            Assert.False(bridge.HasExited, $"the bridge stopped:\n{log}");
            Assert.NotNull(health);
            output.WriteLine($"/healthz {(int)health.StatusCode}: {body}");
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Contains("org-b-xmpp", body, StringComparison.Ordinal);

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode($"{root.Path}/var/lib/bridge"));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode($"{root.Path}/var/lib/bridge/bridge.db"));

            Process.Start("kill", ["-TERM", bridge.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(45));
            await bridge.WaitForExitAsync(stop.Token);
            output.WriteLine(log.ToString());
            Assert.Equal(0, bridge.ExitCode);
        }
        finally
        {
            if (!bridge.HasExited)
            {
                bridge.Kill();
            }
        }
    }

    private static Process Start(string file, IEnumerable<string> args, IDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoPaths.Root };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment)
        {
            info.Environment[k] = v;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
    }
}
