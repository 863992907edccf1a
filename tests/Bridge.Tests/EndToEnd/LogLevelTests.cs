using System.Text.RegularExpressions;
using Bridge.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// What an operator reads in the daemon's log during routine events (issue 13): a server restart, health probes and a
/// clean stop are no errors and no warnings; the start and stop lines appear once each; a health probe writes nothing.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class LogLevelTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    /// <summary>Any line that says a component stream ended, at whatever level: the assertions below judge the level.</summary>
    private const string Noticed = @"\[400[346]\]";

    [Fact]
    public async Task Server_restarts_health_probes_and_a_clean_stop_log_no_errors_no_warnings_and_no_duplicate_lines()
    {
        var port = FreePorts.Next();
        await using var orgs = await TwoOrganisations.StartAsync(async () => await ProsodyServer.StartAsync("a.localhost"),
            async () => await EjabberdServer.StartAsync("e.localhost"), c => c.Raw($"admin:\n  listen: http://127.0.0.1:{port}"), output);
        var bridge = await orgs.StartBridgeAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await WaitHealthyAsync(http);

        var beforeProbes = bridge.Output.Length;
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("ok", (await http.GetStringAsync("/healthz")).Trim());
        }

        await Task.Delay(500); // a per-request line would be printed by now
        var probeLines = Lines(bridge.Output[beforeProbes..]);
        Assert.True(probeLines.Count == 0, "health probes wrote to the log:\n" + string.Join('\n', probeLines));

        // Each server stops (as on a routine shutdown or restart) and comes back; the bridge reconnects to it.
        foreach (var (server, domain) in new[] { (orgs.A, orgs.A.ComponentDomain), (orgs.B, orgs.B.ComponentDomain) })
        {
            var before = Regex.Count(bridge.Output, $"Component {Regex.Escape(domain)} connected");
            var noticed = Regex.Count(bridge.Output, Noticed);
            await server.StopAsync();
            await WaitAsync(() => Regex.Count(bridge.Output, Noticed) > noticed, $"the end of {domain}'s stream to be logged", bridge);
            await server.StartAgainAsync();
            await WaitAsync(() => Regex.Count(bridge.Output, $"Component {Regex.Escape(domain)} connected") > before, $"{domain} to reconnect", bridge);
        }

        await WaitHealthyAsync(http);
        var beforeStop = bridge.Output.Length;
        Assert.Equal(0, await bridge.TerminateAsync(TimeSpan.FromSeconds(30)));
        await Task.Delay(200); // the last lines of the output pipe
        var log = bridge.Output;
        output.WriteLine(log);

        // A server going away is information; only input that is truly malformed is an error.
        Assert.DoesNotContain("malformed XML", log, StringComparison.Ordinal);
        Assert.DoesNotContain("not-well-formed", log, StringComparison.Ordinal);
        Assert.Empty(LevelLines(log, "fail").Concat(LevelLines(log, "crit")));
        Assert.True(Regex.Count(log, "XMPP server closed the stream") >= 2, "each server's close should be logged as information");

        // While a server is down each retry is refused: one warning per outage, not one per attempt. (ejabberd's test
        // configuration has no room archive, which is worth its one warning.)
        var warnings = LevelLines(log, "warn").Where(l => !l.Contains("no usable archive", StringComparison.Ordinal)).ToList();
        Assert.True(warnings.Count <= 2 && warnings.All(l => l.Contains("[4002]", StringComparison.Ordinal)),
            "warnings beyond one refused connection per restart:\n" + string.Join('\n', warnings));

        // The bridge's own clean stop: no warnings at all.
        var stopWarnings = LevelLines(log[beforeStop..], "warn");
        Assert.True(stopWarnings.Count == 0, "the clean stop logged warnings:\n" + string.Join('\n', stopWarnings));

        // Start and shutdown lines once each.
        Assert.Equal(1, Regex.Count(log, "Bridge started"));
        Assert.True(Regex.Count(log, "Application started") <= 1, "'Application started' printed more than once");
        Assert.True(Regex.Count(log, "Application is shutting down") <= 1, "'Application is shutting down' printed more than once");
        Assert.True(Regex.Count(log, "Content root path") <= 1, "'Content root path' printed more than once");
        var duplicated = Lines(log)
            .Where(l => l.Contains("Bridge", StringComparison.Ordinal) && (l.Contains("start", StringComparison.OrdinalIgnoreCase) || l.Contains("stop", StringComparison.OrdinalIgnoreCase)))
            .Select(StripTimestamp)
            .GroupBy(l => l)
            .Where(g => g.Count() > 1 && !g.Key.Contains("connected", StringComparison.Ordinal))
            .Select(g => g.Key)
            .ToList();
        Assert.True(duplicated.Count == 0, "start/stop lines printed twice:\n" + string.Join('\n', duplicated));

        // No per-request lines from ASP.NET Core at any point.
        Assert.DoesNotContain("Request starting", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Request finished", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Executing endpoint", log, StringComparison.Ordinal);
    }

    private static async Task WaitHealthyAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow + Long;
        while (true)
        {
            try
            {
                using var response = await http.GetAsync("/healthz");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the bridge did not become healthy");
            }

            await Task.Delay(200);
        }
    }

    private static async Task WaitAsync(Func<bool> condition, string what, BridgeProcess bridge)
    {
        var deadline = DateTime.UtcNow + Long;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"waited in vain for {what}:\n{bridge.Output}");
            }

            await Task.Delay(100);
        }
    }

    private static List<string> Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    /// <summary>Lines of one level in the simple console format ("HH:mm:ss.fff warn: Category[id] message").</summary>
    private static List<string> LevelLines(string text, string level) =>
        Lines(text).Where(l => l.StartsWith(level + ":", StringComparison.Ordinal) || l.Contains(" " + level + ": ", StringComparison.Ordinal)).ToList();

    private static string StripTimestamp(string line) => TimestampPrefix().Replace(line, "");

    [GeneratedRegex(@"^\d\d:\d\d:\d\d\.\d+ ")]
    private static partial Regex TimestampPrefix();
}
