using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Bridge.Testing;

namespace Bridge.Tests.EndToEnd;

/// <summary>One fault scenario's outcome, as <c>scripts/faults.sh</c> prints it.</summary>
internal sealed record FaultRow(string Scenario, int Sent, int Delivered, int Lost, int Duplicated, bool InOrder, string P99Without, string P99With, string Touched, string Health)
{
    public const string Header = "scenario | outage s | sent | delivered | lost | duplicated | order kept | healthy p50/p99 ms, no fault | healthy p50/p99 ms, fault | to/from faulted p50/p99 ms, fault | /healthz during the fault";

    public string Line(TimeSpan outage) => string.Join(" | ", Scenario, ((int)outage.TotalSeconds).ToString(CultureInfo.InvariantCulture),
        Sent.ToString(CultureInfo.InvariantCulture), Delivered.ToString(CultureInfo.InvariantCulture), Lost.ToString(CultureInfo.InvariantCulture),
        Duplicated.ToString(CultureInfo.InvariantCulture), InOrder ? "yes" : "NO", P99Without, P99With, Touched, Health);
}

/// <summary>
/// Runs fault scenarios on one <see cref="ThreeNetworks"/> (with proxies and the admin API): Alice (XMPP), Bob (Matrix)
/// and Carol (Mattermost) each speak every 500 ms through a phase without fault and then through the fault; everyone
/// can keep speaking on their own server during any fault (a network "down" is its link to the daemon). After the fault
/// is healed it waits for every message to arrive, then counts per destination: delivered, lost, doubled, order; and the
/// delay of messages between the networks the fault does not touch, phase by phase (first seen, polled every 10 ms).
/// </summary>
internal sealed class FaultRun(ThreeNetworks net, XmppPerson alice, HttpClient admin)
{
    private const string X = "xmpp", M = "matrix", T = "mm";
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private sealed record Sent(string Body, string From, DateTime At, bool DuringFault);

    /// <summary>Runs one scenario; <paramref name="touched"/> are the networks the fault affects (their pairs are not timed).</summary>
    public async Task<FaultRow> RunAsync(string scenario, string tag, TimeSpan baseline, TimeSpan outage, string[] touched,
        Func<Task> inject, Func<Task> heal, Func<string, bool> healthSays)
    {
        var sent = new List<Sent>();
        var firstSeen = new ConcurrentDictionary<(string Network, string Body), DateTime>();
        using var stopPolling = new CancellationTokenSource();
        var poller = Task.Run(() => PollAsync(tag, firstSeen, stopPolling.Token));
        string? health = null;
        try
        {
            await SpeakAsync(tag, sent, baseline, duringFault: false);
            await inject();
            var healthTask = Task.Run(async () =>
            {
                var deadline = DateTime.UtcNow + outage - TimeSpan.FromSeconds(1);
                string? last = null;
                while (DateTime.UtcNow < deadline)
                {
                    last = await HealthAsync();
                    if (healthSays(last))
                    {
                        return last;
                    }

                    await Task.Delay(250);
                }

                return "(never said) " + last;
            });
            await SpeakAsync(tag, sent, outage, duringFault: true);
            health = await healthTask;
        }
        finally
        {
            await heal();
        }

        // Everything arrives, and health is back to ok, within a generous bound after the fault.
        await ThreeNetworks.WaitUntilAsync(() => sent.All(s => Destinations(s.From).All(d => Seen(d, s.Body) > 0)), TimeSpan.FromSeconds(120) + outage,
            $"{scenario}: every message at both other networks", () => Missing(sent));
        await ThreeNetworks.WaitUntilAsync(() => HealthAsync().GetAwaiter().GetResult() == "200 ok", TimeSpan.FromSeconds(60), $"{scenario}: /healthz ok again");
        await Task.Delay(2000); // a doubled delivery would show by now
        await stopPolling.CancelAsync();
        await poller;

        int delivered = 0, lost = 0, doubled = 0;
        var inOrder = true;
        foreach (var from in new[] { X, M, T })
        {
            var mine = sent.Where(s => s.From == from).Select(s => s.Body).ToList();
            foreach (var to in Destinations(from))
            {
                foreach (var body in mine)
                {
                    var n = Seen(to, body);
                    delivered += n > 0 ? 1 : 0;
                    lost += n == 0 ? 1 : 0;
                    doubled += n > 1 ? n - 1 : 0;
                }

                var arrived = Arrived(to, $"{tag}-{from}-").Distinct().ToList();
                inOrder &= arrived.SequenceEqual(mine.Where(arrived.Contains));
            }
        }

        return new FaultRow(scenario, 2 * sent.Count, delivered, lost, doubled, inOrder,
            P99(sent, firstSeen, (f, t) => !touched.Contains(f) && !touched.Contains(t), duringFault: false),
            P99(sent, firstSeen, (f, t) => !touched.Contains(f) && !touched.Contains(t), duringFault: true),
            P99(sent, firstSeen, (f, t) => touched.Contains(f) || touched.Contains(t), duringFault: true), health ?? "");
    }

    private async Task SpeakAsync(string tag, List<Sent> sent, TimeSpan length, bool duringFault)
    {
        var start = Stopwatch.StartNew();
        var round = sent.Count / 3;
        var due = TimeSpan.Zero;
        while (start.Elapsed < length)
        {
            var at = DateTime.UtcNow;
            var body = $"{tag}-{X}-{round}";
            sent.Add(new Sent(body, X, at, duringFault));
            await alice.SayAsync(body);
            body = $"{tag}-{M}-{round}";
            sent.Add(new Sent(body, M, DateTime.UtcNow, duringFault));
            net.BobSays(body);
            body = $"{tag}-{T}-{round}";
            sent.Add(new Sent(body, T, DateTime.UtcNow, duringFault));
            net.CarolSays(body);
            round++;
            due += Interval;
            var wait = due - start.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
        }
    }

    private static IEnumerable<string> Destinations(string from) => new[] { X, M, T }.Where(n => n != from);

    private int Seen(string network, string body) => network switch
    {
        X => alice.Messages.Count(m => m.Body == body && m.FromNick != "Alice"),
        M => net.MatrixMessages(body).Count(m => m.Body == body),
        _ => net.MattermostPosts(body).Count(p => p.Message == body),
    };

    private IEnumerable<string> Arrived(string network, string prefix) => network switch
    {
        X => alice.Messages.Where(m => m.Body.StartsWith(prefix, StringComparison.Ordinal) && m.FromNick != "Alice").Select(m => m.Body),
        M => net.MatrixMessages(prefix).Select(m => m.Body),
        _ => net.MattermostPosts(prefix).Select(p => p.Message),
    };

    private string Missing(List<Sent> sent) => string.Join(", ", sent
        .SelectMany(s => Destinations(s.From).Where(d => Seen(d, s.Body) == 0).Select(d => $"{s.Body}->{d}"))
        .Take(20));

    private async Task PollAsync(string tag, ConcurrentDictionary<(string, string), DateTime> firstSeen, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var now = DateTime.UtcNow;
            foreach (var m in net.MatrixMessages(tag + "-"))
            {
                firstSeen.TryAdd((M, m.Body), now);
            }

            foreach (var p in net.MattermostPosts(tag + "-"))
            {
                firstSeen.TryAdd((T, p.Message), now);
            }

            await Task.Delay(10, CancellationToken.None);
        }
    }

    /// <summary>p50/p99 of the delays of the pairs <paramref name="pair"/> (from, to) picks, for messages sent in one phase.</summary>
    private string P99(List<Sent> sent, ConcurrentDictionary<(string, string), DateTime> firstSeen, Func<string, string, bool> pair, bool duringFault)
    {
        var delays = new List<double>();
        foreach (var s in sent.Where(s => s.DuringFault == duringFault))
        {
            foreach (var to in Destinations(s.From).Where(d => pair(s.From, d)))
            {
                DateTime? at = to == X
                    ? alice.Messages.FirstOrDefault(m => m.Body == s.Body && m.FromNick != "Alice")?.ReceivedAt.UtcDateTime
                    : firstSeen.TryGetValue((to, s.Body), out var seen) ? seen : null;
                if (at is { } arrived)
                {
                    delays.Add((arrived - s.At).TotalMilliseconds);
                }
            }
        }

        if (delays.Count == 0)
        {
            return "-";
        }

        delays.Sort();
        double At(double q) => delays[Math.Clamp((int)Math.Ceiling(q * delays.Count) - 1, 0, delays.Count - 1)];
        return $"{At(0.5).ToString("F0", CultureInfo.InvariantCulture)}/{At(0.99).ToString("F0", CultureInfo.InvariantCulture)} (n={delays.Count})";
    }

    private async Task<string> HealthAsync()
    {
        try
        {
            using var response = await admin.GetAsync("/healthz");
            return $"{(int)response.StatusCode} {(await response.Content.ReadAsStringAsync()).Trim()}";
        }
        catch (HttpRequestException ex)
        {
            return "no answer: " + ex.Message;
        }
    }
}
