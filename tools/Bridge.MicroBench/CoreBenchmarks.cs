using BenchmarkDotNet.Attributes;
using Bridge.Core.Audit;
using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Storage;
using Bridge.Core.Storage.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.MicroBench;

/// <summary>
/// The core's share of one message: the policy decision for one destination (labels, a barrier, a redaction pattern,
/// link and mention rules), sealing one audit record (the hash chain), and the ingest commit on SQLite (inbound mark,
/// origin, two outbox rows and two audit records in one transaction, on a file in the temp folder, synchronous=normal).
/// </summary>
[BenchmarkCategory("core")]
public class CoreBenchmarks
{
    private static readonly NetworkDefinition Source = new() { Id = "mm-a", Kind = NetworkKind.Mattermost, Organisation = "org-a" };
    private static readonly NetworkDefinition Destination = new() { Id = "xmpp-b", Kind = NetworkKind.Xmpp, Organisation = "org-b", Clearance = "CUI" };
    private static readonly LinkDefinition Link = new() { Id = "ops", Endpoints = [new ChannelRef("mm-a", "c1"), new ChannelRef("xmpp-b", "ops@conference.b")] };

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bridge-microbench-" + Guid.NewGuid().ToString("N"));
    private CompiledPolicy _policy = null!;
    private PolicyContext _context = null!;
    private AuditDraft _draft = null!;
    private SqliteBridgeStore _store = null!;
    private long _sequence;

    [GlobalSetup]
    public void Setup()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["policy:labels:0"] = "UNCLASSIFIED",
            ["policy:labels:1"] = "CUI",
            ["policy:labels:2"] = "SECRET",
            ["policy:barriers:0:0"] = "org-a",
            ["policy:barriers:0:1"] = "org-c",
            ["policy:defaults:content:redact:0:name"] = "ssn",
            ["policy:defaults:content:redact:0:pattern"] = @"\b\d{3}-\d{2}-\d{4}\b",
            ["policy:defaults:content:redact:0:replacement"] = "[REDACTED]",
            ["policy:defaults:content:links:allowedDomains:0"] = "example.org",
            ["policy:defaults:content:maxLength"] = "4000",
            ["policy:defaults:content:neutraliseMentions"] = "true",
        }).Build();
        var compiled = PolicyCompiler.Compile(config.GetSection("policy"));
        _policy = compiled.Policy ?? throw new InvalidOperationException(string.Join("; ", compiled.Errors));
        _context = new PolicyContext(Message("n-0"), Link, Source, Link.Endpoints[1], Destination);
        _draft = new AuditDraft
        {
            At = DateTimeOffset.UnixEpoch, Kind = "decision", LinkId = "ops", EventKey = "mm-a/p8ab3tqy1fr9ug1mh5f5xhjz9w", SourceNetwork = "mm-a",
            SourcePerson = "u5ty6w1uyjny9ci3c5qmwjmgbr", Destination = "xmpp-b/ops@conference.b", Decision = "delivered", RuleId = "allow", Label = "CUI",
            ContentHash = AuditChain.HashContent("[CUI] hello team, see https://example.org/a"),
        };

        Directory.CreateDirectory(_directory);
        _store = new SqliteBridgeStore(new SqliteStoreOptions { Path = Path.Combine(_directory, "bridge.db") }, NullLogger<SqliteBridgeStore>.Instance);
        _store.MigrateAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static BridgeEvent Message(string nativeId) => new()
    {
        NetworkId = "mm-a",
        ChannelId = "c1",
        NativeId = nativeId,
        Sender = new PersonRef { NetworkId = "mm-a", UserId = "u5ty6w1uyjny9ci3c5qmwjmgbr", DisplayName = "Alice", Organisation = "org-a" },
        Text = "[CUI] hello @team, see https://example.org/a and call 555-12-3456 later",
    };

    [Benchmark]
    public PolicyDecision PolicyDecide() => _policy.Decide(_context);

    [Benchmark]
    public string AuditSeal() => AuditChain.Seal(AuditChain.Genesis, ++_sequence, _draft, key: null);

    /// <summary>
    /// The seal as it was before issue 12 (the fields as a list of objects through JsonSerializer, then SHA-256), kept
    /// here so the change is measured against it in the same run; the bytes hashed are the same (AuditCanonicalFormTests).
    /// </summary>
    [Benchmark]
    public string AuditSealBefore()
    {
        var e = _draft;
        var fields = new List<object?>
        {
            AuditChain.Genesis, ++_sequence, e.At.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture),
            e.Kind, e.LinkId, e.EventKey, e.SourceNetwork, e.SourcePerson, e.Destination, e.Decision, e.RuleId, e.Label, e.ContentHash, e.Content,
        };
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(fields))));
    }

    /// <summary>One message's durable write before its source is acknowledged (one commit).</summary>
    [Benchmark]
    public Task<bool> SqliteIngestCommit()
    {
        var origin = Message("n-" + (++_sequence).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var destination = Link.Endpoints[1];
        return _store.IngestAsync(origin,
            [new OutboxDraft("ops", destination, origin, "CUI"), new OutboxDraft("ops", new ChannelRef("matrix-c", "!r:hs"), origin, "CUI")],
            [_draft with { EventKey = "mm-a/" + origin.NativeId }, _draft with { EventKey = "mm-a/" + origin.NativeId, Destination = "matrix-c/!r:hs" }],
            CancellationToken.None);
    }
}
