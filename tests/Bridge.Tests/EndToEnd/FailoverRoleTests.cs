using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Bridge.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Two daemons on one PostgreSQL store: one active, one standby. What an operator and systemd see of each: the standby
/// is ready (sd_notify), serves the admin API with its role and the holder, stops cleanly on SIGTERM, and the active
/// that loses the lease exits 3 so that <c>Restart=on-failure</c> brings it back as a standby.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class FailoverRoleTests(ITestOutputHelper output) : IAsyncLifetime
{
    private PostgresServer? _postgres;
    private readonly string _schema = "f_" + Guid.NewGuid().ToString("N")[..12];
    private readonly TempDirectory _dir = new();

    public async Task InitializeAsync()
    {
        _postgres = await PostgresServer.StartAsync();
        await AdminSqlAsync($"CREATE SCHEMA {_schema}");
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await AdminSqlAsync($"DROP SCHEMA IF EXISTS {_schema} CASCADE");
            await _postgres.DisposeAsync();
        }

        _dir.Dispose();
    }

    [Fact]
    public async Task A_standby_is_ready_shows_its_role_stops_cleanly_and_a_deposed_active_exits_3()
    {
        var (configA, adminA) = await WriteConfigAsync("a");
        var (configB, adminB) = await WriteConfigAsync("b");
        await using var active = await BridgeProcess.StartAsync(configA, TimeSpan.FromSeconds(90));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        // The standby, with a notify socket as systemd gives one under Type=notify.
        var socketPath = _dir.File("notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        var standby = await BridgeProcess.StartAsync(configB, TimeSpan.FromSeconds(90), new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath }, readyText: "Standing by");
        try
        {
            var buffer = new byte[512];
            notify.ReceiveTimeout = 30_000;
            var received = Encoding.UTF8.GetString(buffer, 0, notify.Receive(buffer));
            Assert.Contains("READY=1", received, StringComparison.Ordinal);
            Assert.Contains("STATUS=standby", received, StringComparison.Ordinal);

            var activeStatus = await StatusAsync(http, adminA);
            Assert.Equal("active", activeStatus.GetProperty("instance").GetProperty("role").GetString());
            var activeName = activeStatus.GetProperty("instance").GetProperty("name").GetString()!;
            Assert.EndsWith($":{active.Pid}", activeName, StringComparison.Ordinal);

            var standbyStatus = await StatusAsync(http, adminB);
            Assert.Equal("standby", standbyStatus.GetProperty("instance").GetProperty("role").GetString());
            Assert.StartsWith(activeName, standbyStatus.GetProperty("instance").GetProperty("holder").GetString(), StringComparison.Ordinal);
            var standbyHealth = await http.GetAsync(new Uri($"{adminB}/healthz"));
            Assert.Equal(HttpStatusCode.OK, standbyHealth.StatusCode);
            Assert.StartsWith($"standby: the leader lease is held by {activeName}", await standbyHealth.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Matches(@"(?m)^bridge_leader(\{[^}]*\})? 0$", await http.GetStringAsync(new Uri($"{adminB}/metrics")));
            Assert.Matches(@"(?m)^bridge_leader(\{[^}]*\})? 1$", await http.GetStringAsync(new Uri($"{adminA}/metrics")));

            // SIGTERM of a standby is a clean stop.
            Assert.Equal(0, await standby.TerminateAsync(TimeSpan.FromSeconds(30)));
            Assert.DoesNotContain("fatal", standby.Output, StringComparison.Ordinal);
            // Nor the host's "Hosting failed to start" nor any other error line (the console writes errors as " fail: ").
            Assert.DoesNotContain("Hosting failed to start", standby.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(" fail: ", standby.Output, StringComparison.Ordinal);
            output.WriteLine(standby.Output);
        }
        finally
        {
            await standby.DisposeAsync();
        }

        // A standby again; then the lease moves on under the active (as when it was replaced while it could not renew):
        // its next heartbeat finds a newer epoch, it stops with 3 and the standby takes over.
        await using var second = await BridgeProcess.StartAsync(configB, TimeSpan.FromSeconds(90), readyText: "Standing by");
        await AdminSqlAsync($"UPDATE {_schema}.leader_lease SET epoch = epoch + 1, holder = '', expires_at = '-infinity'");
        using (var exit = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await WaitForExitAsync(active, exit.Token);
        }

        output.WriteLine(active.Output);
        Assert.Equal(3, active.ExitCode);
        await second.WaitForOutputAsync("Bridge started", TimeSpan.FromSeconds(60));
        Assert.Equal("active", (await StatusAsync(http, adminB)).GetProperty("instance").GetProperty("role").GetString());
    }

    private static async Task WaitForExitAsync(BridgeProcess process, CancellationToken cancellationToken)
    {
        while (!process.HasExited)
        {
            await Task.Delay(100, cancellationToken);
        }
    }

    private static async Task<JsonElement> StatusAsync(HttpClient http, string admin)
    {
        using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri($"{admin}/status")));
        return doc.RootElement.Clone();
    }

    private async Task<(string Config, string Admin)> WriteConfigAsync(string name)
    {
        var admin = $"http://127.0.0.1:{FreePorts.Next()}";
        var connection = new NpgsqlConnectionStringBuilder(_postgres!.ConnectionString) { SearchPath = _schema }.ConnectionString;
        // Two XMPP networks whose servers are not there: the roles, not the traffic, are under test here.
        var yaml = $$"""
            database:
              provider: postgres
              postgres:
                connectionString: "{{connection}}"
            admin:
              listen: {{admin}}
            networks:
              x:
                kind: xmpp
                xmpp: { host: 127.0.0.1, port: {{FreePorts.Next()}}, componentDomain: bridge.x.localhost, secret: s }
              y:
                kind: xmpp
                xmpp: { host: 127.0.0.1, port: {{FreePorts.Next()}}, componentDomain: bridge.y.localhost, secret: s }
            links:
              ops:
                endpoints:
                  - { network: x, channel: ops@conference.x.localhost }
                  - { network: y, channel: ops@conference.y.localhost }
            """;
        var path = _dir.File($"bridge-{name}.yaml");
        await File.WriteAllTextAsync(path, yaml);
        return (path, admin);
    }

    private async Task AdminSqlAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var conn = new NpgsqlConnection(_postgres!.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var (n, v) in parameters)
        {
            cmd.Parameters.AddWithValue(n, v);
        }

        await cmd.ExecuteNonQueryAsync();
    }
}
