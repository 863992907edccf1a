using System.Globalization;
using System.Net.Http.Json;
using Bridge.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Issue 13's faults against the real daemon, on one three-network fixture: each network's link down, all at once, a
/// slow homeserver link (2 s each way through the kit's <see cref="DelayingTcpProxy"/>), a homeserver answering 500 and
/// then 429 with <c>retry_after_ms</c>, a Mattermost rate-limiting with <c>X-RateLimit-*</c>. Nothing is lost or doubled,
/// order is kept, and /healthz names the network and why it waits. <c>delivery:maxAttempts</c> is 2, so a fault that
/// counted toward dead-lettering would lose messages. Outages last <c>FAULTS_SECONDS</c> (12 by default, for the suite;
/// <c>scripts/faults.sh</c> runs 60 and prints the table, also written to <c>FAULTS_TABLE</c> when set).
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "Faults")]
public sealed class FaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_fault_of_issue_13_loses_nothing_doubles_nothing_keeps_order_and_health_says_why()
    {
        var outage = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("FAULTS_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 12);
        var baseline = TimeSpan.FromSeconds(Math.Min(outage.TotalSeconds, 30));
        var only = Environment.GetEnvironmentVariable("FAULTS_ONLY");
        var adminPort = FreePorts.Next();
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { Proxies = true }, b =>
        {
            b.DeliveryMaxAttempts = 2;
            b.Raw($"admin:\n  listen: http://127.0.0.1:{adminPort}");
        });
        // A 429 goes straight back to the delivery queue (no wait inside the request), so the network's pause shows on /healthz.
        await AddMattermostSettingAsync(net, "maxInlineRateLimitWait", "00:00:00");
        var bridge = await net.StartBridgeAsync();
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"), Timeout = TimeSpan.FromSeconds(10) };
        var rows = new List<FaultRow>();
        try
        {
            var alice = await net.AliceAsync();
            await WarmUpAsync(net, alice);
            var run = new FaultRun(net, alice, admin);
            var mm = net.Mm.Settings;
            var scenarios = new (string Name, string[] Touched, Func<Task> Inject, Func<Task> Heal, Func<string, bool> Says)[]
            {
                ("xmpp down", ["xmpp"], () => Do(() => net.XmppLink!.SetDown(true)), () => Do(() => net.XmppLink!.SetDown(false)),
                    h => h.Contains("xmpp: ", StringComparison.Ordinal) && h.Contains("not connected", StringComparison.Ordinal)),
                ("matrix down", ["matrix"], () => net.Hs.StopAsync(), () => net.Hs.StartAsync(), h => h.Contains("matrix: ", StringComparison.Ordinal)),
                ("mattermost down", ["mm"], () => net.Mm.StopAsync(), () => net.Mm.StartAsync(net.Mm.Port), h => h.Contains("mm: ", StringComparison.Ordinal)),
                ("all down at once", ["xmpp", "matrix", "mm"],
                    async () => { net.XmppLink!.SetDown(true); await net.Hs.StopAsync(); await net.Mm.StopAsync(); },
                    async () => { net.XmppLink!.SetDown(false); await net.Hs.StartAsync(); await net.Mm.StartAsync(net.Mm.Port); },
                    // Nothing can reach the bridge to be sent to Matrix (its senders' links are down too), and an idle
                    // appservice has no connection to lose: only the two networks it cannot deliver to are named.
                    h => h.Contains("xmpp: ", StringComparison.Ordinal) && h.Contains("mm: ", StringComparison.Ordinal)),
                ("matrix slow (2 s each way)", ["matrix"], () => Do(() => net.MatrixLink!.Delay = TimeSpan.FromSeconds(2)),
                    () => Do(() => net.MatrixLink!.Delay = TimeSpan.Zero), _ => true),
                ("matrix 500", ["matrix"], () => Do(() => net.Hs.FailWithServerErrors(outage)), () => Do(net.Hs.ClearFaults),
                    h => h.Contains("matrix: ", StringComparison.Ordinal) && h.Contains("server error since", StringComparison.Ordinal)),
                ("matrix 429 retry_after_ms 2000", ["matrix"], () => Do(() => net.Hs.RateLimitEverything(outage, TimeSpan.FromSeconds(2))), () => Do(net.Hs.ClearFaults),
                    h => h.Contains("matrix: ", StringComparison.Ordinal) && h.Contains("rate limited until", StringComparison.Ordinal)),
                ("mattermost rate limit 1/s", ["mm"],
                    () => Do(() => { mm.RateLimitPerSec = 1; mm.RateLimitMaxBurst = 1; mm.RateLimitEnable = true; }),
                    () => Do(() => mm.RateLimitEnable = false),
                    h => h.Contains("mm: ", StringComparison.Ordinal) && h.Contains("rate limited until", StringComparison.Ordinal)),
            };
            var i = 0;
            foreach (var (name, touched, inject, heal, says) in scenarios)
            {
                i++;
                if (only is { Length: > 0 } && !name.StartsWith(only, StringComparison.Ordinal))
                {
                    continue;
                }

                var row = await run.RunAsync(name, $"f{i}", baseline, outage, touched, inject, heal, says);
                rows.Add(row);
                output.WriteLine(row.Line(outage));
            }
        }
        finally
        {
            Report(rows, outage);
            output.WriteLine(bridge.Output[^Math.Min(bridge.Output.Length, 20000)..]);
        }

        Assert.All(rows, r =>
        {
            Assert.Equal(0, r.Lost);
            Assert.Equal(0, r.Duplicated);
            Assert.True(r.InOrder, $"{r.Scenario}: order not kept");
            Assert.DoesNotContain("(never said)", r.Health, StringComparison.Ordinal);
        });
        Assert.Empty(await admin.GetFromJsonAsync<List<object>>("/deadletters") ?? []);
    }

    private static Task Do(Action action)
    {
        action();
        return Task.CompletedTask;
    }

    private void Report(List<FaultRow> rows, TimeSpan outage)
    {
        var lines = new List<string> { FaultRow.Header };
        lines.AddRange(rows.Select(r => r.Line(outage)));
        foreach (var line in lines)
        {
            output.WriteLine(line);
        }

        if (Environment.GetEnvironmentVariable("FAULTS_TABLE") is { Length: > 0 } path)
        {
            File.WriteAllLines(path, lines);
        }
    }

    private static async Task AddMattermostSettingAsync(ThreeNetworks net, string key, string value)
    {
        // The fixture wrote the file; the Mattermost section is the last "    mattermost:" block's settings.
        var lines = (await File.ReadAllLinesAsync(net.ConfigPath)).ToList();
        var at = lines.FindIndex(l => l == "    mattermost:");
        lines.Insert(at + 1, $"      {key}: \"{value}\"");
        await File.WriteAllLinesAsync(net.ConfigPath, lines);
    }

    private static async Task WarmUpAsync(ThreeNetworks net, XmppPerson alice)
    {
        await alice.SayAsync("warm-x");
        net.BobSays("warm-m");
        net.CarolSays("warm-t");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("warm-x").Count == 1 && net.MattermostPosts("warm-x").Count == 1
            && net.MatrixMessages("warm-t").Count == 1 && net.MattermostPosts("warm-m").Count == 1, ThreeNetworks.Long, "warm-up on Matrix and Mattermost");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "warm-m") && ms.Any(m => m.Body == "warm-t"), ThreeNetworks.Long, "warm-up at Alice");
    }
}
