using System.Net;
using Bridge.Core.Storage.Sqlite;
using Bridge.Host.Admin;
using Bridge.Host.Admin.Access;
using Bridge.Host.Configuration;
using Bridge.Testing;
using Bridge.Tests.HostTests;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Admin;

/// <summary>Who may do what on the admin API: 401 without a valid token, 403 without the role, both audited.</summary>
public sealed class AdminAccessTests : IAsyncLifetime
{
    private const string ViewerToken = "viewer-token-0123456789abcdef";
    private const string OperatorToken = "operator-token-0123456789abcdef";
    private readonly TempDirectory _dir = new();
    private SqliteBridgeStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteBridgeStore(new SqliteStoreOptions { Path = _dir.File("bridge.db") }, NullLogger<SqliteBridgeStore>.Instance);
        await _store.MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _dir.Dispose();
    }

    private static AdminTokens Tokens() => new AdminOptions
    {
        Tokens =
        {
            ["console"] = new AdminTokenOptions { Hash = TokenHash.Of(ViewerToken), Role = "viewer" },
            ["ops-alice"] = new AdminTokenOptions { Hash = TokenHash.Of(OperatorToken), Role = "operator" },
        },
    }.Validate([]);

    private async Task<(int Status, AdminCaller? Caller, bool Passed)> SendAsync(AdminTokens tokens, string method, string path, string? authorization,
        IPAddress? peer = null)
    {
        var access = new AdminAccess(tokens, _store, NullLogger.Instance, TimeProvider.System);
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Connection.RemoteIpAddress = peer ?? IPAddress.Loopback;
        context.Response.Body = new MemoryStream();
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        var passed = false;
        await access.InvokeAsync(context, _ =>
        {
            passed = true;
            return Task.CompletedTask;
        });
        return (context.Response.StatusCode, passed ? AdminAccess.CallerOf(context) : null, passed);
    }

    private async Task<List<Bridge.Core.Storage.AuditRecord>> AccessAuditAsync() =>
        [.. (await _store.ReadAuditAsync(0, null, 100, CancellationToken.None)).Where(r => r.Entry.Kind == AdminAudit.AccessKind)];

    [Fact]
    public async Task No_token_is_401_and_audited()
    {
        var (status, _, passed) = await SendAsync(Tokens(), "GET", "/api/links", null);

        Assert.False(passed);
        Assert.Equal(401, status);
        var record = Assert.Single(await AccessAuditAsync());
        Assert.Equal("unauthenticated", record.Entry.Decision);
        Assert.Equal("GET /api/links", record.Entry.Destination);
    }

    [Fact]
    public async Task A_wrong_token_is_401_and_audited()
    {
        var (status, _, passed) = await SendAsync(Tokens(), "GET", "/api/links", "Bearer " + OperatorToken[..^1] + "X");

        Assert.False(passed);
        Assert.Equal(401, status);
        Assert.Equal("unauthenticated", Assert.Single(await AccessAuditAsync()).Entry.Decision);
    }

    [Fact]
    public async Task A_token_in_another_scheme_is_not_accepted()
    {
        var (status, _, passed) = await SendAsync(Tokens(), "GET", "/api/links", "Basic " + OperatorToken);

        Assert.False(passed);
        Assert.Equal(401, status);
    }

    [Fact]
    public async Task A_viewer_reads_but_a_change_is_403_and_audited_with_its_name()
    {
        var read = await SendAsync(Tokens(), "GET", "/api/links", "Bearer " + ViewerToken);
        var change = await SendAsync(Tokens(), "POST", "/api/links", "Bearer " + ViewerToken);

        Assert.True(read.Passed);
        Assert.Equal(new AdminCaller("console", AdminRole.Viewer), read.Caller);
        Assert.False(change.Passed);
        Assert.Equal(403, change.Status);
        var record = Assert.Single(await AccessAuditAsync());
        Assert.Equal("forbidden", record.Entry.Decision);
        Assert.Equal("console", record.Entry.SourcePerson);
        Assert.Equal("role:operator", record.Entry.RuleId);
    }

    [Fact]
    public async Task An_operator_may_change_and_is_named()
    {
        var (_, caller, passed) = await SendAsync(Tokens(), "DELETE", "/api/links/ops", "Bearer " + OperatorToken);

        Assert.True(passed);
        Assert.Equal(new AdminCaller("ops-alice", AdminRole.Operator), caller);
        Assert.Empty(await AccessAuditAsync());
    }

    [Fact]
    public async Task Probes_answer_loopback_without_a_token_but_not_other_peers()
    {
        var local = await SendAsync(Tokens(), "GET", "/healthz", null);
        var remote = await SendAsync(Tokens(), "GET", "/metrics", null, IPAddress.Parse("192.0.2.7"));
        var remoteWithToken = await SendAsync(Tokens(), "GET", "/metrics", "Bearer " + ViewerToken, IPAddress.Parse("192.0.2.7"));

        Assert.True(local.Passed);
        Assert.False(remote.Passed);
        Assert.Equal(401, remote.Status);
        Assert.True(remoteWithToken.Passed);
    }

    [Fact]
    public async Task Without_tokens_a_loopback_api_reads_but_never_changes()
    {
        var read = await SendAsync(AdminTokens.None, "GET", "/status", null);
        var change = await SendAsync(AdminTokens.None, "POST", "/api/links", null);

        Assert.True(read.Passed);
        Assert.False(change.Passed);
        Assert.Equal(401, change.Status);
    }

    [Fact]
    public void Every_configured_token_is_found_and_a_near_miss_is_not()
    {
        var tokens = Tokens();

        Assert.Equal("console", tokens.Find(ViewerToken)?.Name);
        Assert.Equal("ops-alice", tokens.Find(OperatorToken)?.Name);
        Assert.Null(tokens.Find(OperatorToken + " "));
        Assert.Null(tokens.Find(""));
    }

    [Fact]
    public void The_hash_form_is_sha256_hex_of_the_token()
    {
        Assert.Equal("sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", TokenHash.Of("password"));
    }

    [Theory]
    [InlineData("http://0.0.0.0:9480")]
    [InlineData("http://*:9480")]
    [InlineData("http://[::]:9480")]
    [InlineData("http://bridge.example.org:9480")]
    public async Task The_daemon_refuses_to_start_when_the_api_is_open_beyond_loopback_without_a_token(string listen)
    {
        var (code, _, error) = await CheckConfigTests.CheckAsync(Yaml($"admin:\n  listen: {listen}\n"));

        Assert.Equal(1, code);
        Assert.Contains("admin:tokens: required", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_refuses_too_and_starts_nothing()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.yaml");
        await File.WriteAllTextAsync(path, Yaml("admin:\n  listen: http://0.0.0.0:9480\n"));

        var (code, _, error) = await CheckConfigTests.RunAsync(["run", "--config", path]);

        Assert.Equal(1, code);
        Assert.Contains("admin:tokens: required", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Loopback_without_tokens_and_wide_with_a_token_are_accepted()
    {
        var loopback = await CheckConfigTests.CheckAsync(Yaml("admin:\n  listen: http://127.0.0.1:9480\n"));
        var wide = await CheckConfigTests.CheckAsync(Yaml($"admin:\n  listen: http://0.0.0.0:9480\n  tokens:\n    console: {{ hash: \"{TokenHash.Of(ViewerToken)}\", role: viewer }}\n"));

        Assert.Equal(0, loopback.Code);
        Assert.Equal(0, wide.Code);
    }

    [Theory]
    [InlineData("hash: \"operator-token-0123456789abcdef\", role: operator", "admin:tokens:ops:hash")]
    [InlineData("hash: \"sha256:abc\", role: operator", "admin:tokens:ops:hash")]
    [InlineData("hash: \"sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8\", role: admin", "admin:tokens:ops:role")]
    public async Task A_bad_token_entry_is_named_and_never_quoted(string entry, string key)
    {
        var (code, _, error) = await CheckConfigTests.CheckAsync(Yaml($"admin:\n  listen: http://127.0.0.1:9480\n  tokens:\n    ops: {{ {entry} }}\n"));

        Assert.Equal(1, code);
        Assert.Contains(key, error, StringComparison.Ordinal);
        Assert.DoesNotContain("operator-token", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hash_token_prints_the_hash_of_standard_input()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Bridge.Host.Cli.BridgeCli.Build(new StringReader(ViewerToken + "\n")).Parse(["admin", "hash-token"])
            .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = output, Error = error });

        Assert.Equal(0, code);
        Assert.Equal($"hash: {TokenHash.Of(ViewerToken)}", output.ToString().Trim());
    }

    private static string Yaml(string extra) => $$"""
        database:
          sqlite: { path: {{Path.Combine(Path.GetTempPath(), "admin-access-test.db")}} }
        networks:
          a:
            kind: xmpp
            xmpp: { host: 127.0.0.1, port: 5347, componentDomain: bridge.a.localhost, secret: s }
          b:
            kind: xmpp
            xmpp: { host: 127.0.0.1, port: 5348, componentDomain: bridge.b.localhost, secret: s }
        links:
          ops:
            endpoints:
              - { network: a, channel: ops@conference.a.localhost }
              - { network: b, channel: ops@conference.b.localhost }
        {{extra}}
        """;
}
