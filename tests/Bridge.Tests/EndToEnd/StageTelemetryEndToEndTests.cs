using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Bridge.Testing;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Where the time goes, as an operator sees it: every stage of a message's way (route and commit on ingest; queued,
/// prepare, send and record per destination) is a histogram on <c>/metrics</c>, and with <c>telemetry:otlpEndpoint</c>
/// the same stages are spans sent to an OpenTelemetry collector (here one of the test's own that keeps what it is sent).
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class StageTelemetryEndToEndTests
{
    [Fact]
    public async Task Each_stage_is_on_metrics_and_is_a_span_sent_to_the_configured_collector()
    {
        await using var collector = OtlpCollector.Start();
        var admin = $"http://127.0.0.1:{FreePorts.Next()}";
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { Matrix = false },
            b => b.Raw($"admin:\n  listen: {admin}\ntelemetry:\n  otlpEndpoint: {collector.Url}\n  exportInterval: 00:00:00.500"));
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();

        await alice.SayAsync("stage-1");
        net.CarolSays("stage-2");
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("stage-1").Count == 1 && alice.Messages.Any(m => m.Body == "stage-2"), ThreeNetworks.Long, "both crossed");

        using var http = new HttpClient { BaseAddress = new Uri(admin) };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        foreach (var (stage, network) in new[] { ("route", "xmpp"), ("commit", "xmpp"), ("route", "mm"), ("commit", "mm"),
                     ("queued", "mm"), ("prepare", "mm"), ("send", "mm"), ("record", "mm"), ("queued", "xmpp"), ("send", "xmpp"), ("record", "xmpp") })
        {
            var count = new Regex($@"^bridge_stage_duration_milliseconds_count\{{[^}}]*(?=[^}}]*network=""{network}"")(?=[^}}]*stage=""{stage}"")[^}}]*\}} (\d+)", RegexOptions.Multiline).Match(metrics);
            Assert.True(count.Success && long.Parse(count.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 1,
                $"no {stage} on {network} in /metrics:\n{string.Join('\n', metrics.Split('\n').Where(l => l.Contains("stage", StringComparison.Ordinal)))}");
        }

        // The stage histogram keeps the bucket bounds its instrument advises (0.1 ms is the first, not the SDK's default
        // 0) under the view that caps each stream's points (AdminServer.MetricPointsPerStream).
        Assert.Matches(new Regex(@"^bridge_stage_duration_milliseconds_bucket\{[^}]*le=""0\.1""[^}]*\} \d+", RegexOptions.Multiline), metrics);

        // OTLP/HTTP bodies are protobuf, where names are plain UTF-8: each span's name is in what the collector got.
        await ThreeNetworks.WaitUntilAsync(() => new[] { "bridge.ingest", "bridge.deliver", "bridge.send" }.All(collector.Received),
            TimeSpan.FromSeconds(30), "the spans at the collector");
        Assert.All(collector.Requests, r => Assert.Equal(("POST", "/v1/traces", "application/x-protobuf"), (r.Method, r.Path, r.ContentType)));
    }

    /// <summary>A collector's OTLP/HTTP receiver: answers 200 to every export and keeps the requests.</summary>
    private sealed class OtlpCollector : IAsyncDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;

        private OtlpCollector(int port)
        {
            Url = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public string Url { get; }

        public ConcurrentQueue<(string Method, string Path, string? ContentType, byte[] Body)> Requests { get; } = new();

        public static OtlpCollector Start() => new(FreePorts.Next());

        public bool Received(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            return Requests.Any(r => r.Body.AsSpan().IndexOf(bytes) >= 0);
        }

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                Requests.Enqueue((context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.ContentType, body.ToArray()));
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        }

        public async ValueTask DisposeAsync()
        {
            // Close alone: Stop first removes the prefixes, and Close then removes them again, which makes the managed listener
            // bind the port anew just to drop them ("Address already in use" when another test has taken that port meanwhile).
            _listener.Close();
            await _loop;
        }
    }
}
