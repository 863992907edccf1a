using Bridge.Core.Links;
using Bridge.Core.Model;
using Bridge.Core.Storage.Sqlite;
using Bridge.Testing;
using Bridge.Tests.HostTests;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Admin;

/// <summary><c>check-config</c> warns when the file contradicts a link made through the admin API (the file wins).</summary>
public sealed class StoredLinkClashTests
{
    [Fact]
    public async Task A_file_link_taking_a_stored_links_channel_or_id_is_warned_about()
    {
        using var dir = new TempDirectory();
        var db = dir.File("bridge.db");
        await using (var store = new SqliteBridgeStore(new SqliteStoreOptions { Path = db }, NullLogger<SqliteBridgeStore>.Instance))
        {
            await store.MigrateAsync(CancellationToken.None);
            var spec = new LinkSpec { Endpoints = [new EndpointSpec { Network = "a", Channel = "ops@conference.a.localhost" }, new EndpointSpec { Network = "b", Channel = "x@conference.b.localhost" }] };
            await store.ChangeLinkAsync("from-api", spec.ToJson(), "ops-alice", [], "", [], CancellationToken.None);
            await store.ChangeLinkAsync("ops", spec.ToJson().Replace("ops@", "other@", StringComparison.Ordinal), "ops-alice", [], "", [], CancellationToken.None);
        }

        var path = dir.File("bridge.yaml");
        await File.WriteAllTextAsync(path, $$"""
            database:
              sqlite: { path: {{db}} }
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
            """);

        var (code, _, error) = await CheckConfigTests.RunAsync(["check-config", "--config", path]);

        Assert.Equal(0, code);
        Assert.Contains("warning: links:ops: a/ops@conference.a.localhost is also in link 'from-api' made through the admin API", error, StringComparison.Ordinal);
        Assert.Contains("warning: links:ops: a link made through the admin API has the same id", error, StringComparison.Ordinal);
    }
}
