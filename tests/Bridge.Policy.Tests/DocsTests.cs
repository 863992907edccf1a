using System.Text.RegularExpressions;
using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using static Bridge.Policy.Tests.TestSupport;

namespace Bridge.Policy.Tests;

/// <summary>The YAML in docs/policy.md compiles, and the coalition example behaves as its table says.</summary>
public partial class DocsTests
{
    private static readonly NetworkDefinition Alpha = Network("allied-a", "Alpha");
    private static readonly NetworkDefinition Bravo = Network("coalition-b", "Bravo");
    private static readonly NetworkDefinition Charlie = Network("partner-c", "Charlie");

    private static List<string> PolicyBlocks()
    {
        var doc = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "policy.md"));
        return YamlBlock().Matches(doc).Select(m => m.Groups[1].Value).Where(b => b.StartsWith("policy:", StringComparison.Ordinal)).ToList();
    }

    [Fact]
    public void Every_policy_example_in_the_docs_compiles()
    {
        var blocks = PolicyBlocks();
        Assert.Equal(3, blocks.Count);
        foreach (var block in blocks)
        {
            Compile(block);
        }
    }

    [Fact]
    public async Task The_coalition_example_behaves_as_documented()
    {
        var policy = new ReloadableSharingPolicy(Compile(PolicyBlocks()[1]));
        await using var rig = await RouterRig.CreateAsync([Alpha, Bravo, Charlie], policy);

        async Task<Dictionary<string, string>> Send(NetworkDefinition from, string text)
        {
            await rig.Router.IngestAsync(Message(from.Id, text, nativeId: text), CancellationToken.None);
            var audit = await rig.AuditAsync();
            return audit.Where(r => r.Entry.EventKey == $"{from.Id}/{text}")
                .ToDictionary(r => r.Entry.Destination.Split(':')[0], r => $"{r.Entry.Decision}:{r.Entry.RuleId}:{r.Entry.Label}");
        }

        Assert.Equal(new Dictionary<string, string> { ["coalition-b"] = "delivered:allow:CUI", ["partner-c"] = "blocked:clearance:CUI" },
            await Send(Alpha, "[CUI] convoy at 0600"));
        Assert.Equal(new Dictionary<string, string> { ["coalition-b"] = "delivered:allow:UNCLASSIFIED", ["partner-c"] = "delivered:allow:UNCLASSIFIED" },
            await Send(Alpha, "road closed"));
        foreach (var secret in new[] { "[SECRET] source names", "[S\u0415CRET] look-alike", "[SECRT] typo" })
        {
            Assert.All((await Send(Alpha, secret)).Values, v => Assert.Equal("blocked:clearance:SECRET", v));
        }

        Assert.Equal(new Dictionary<string, string> { ["allied-a"] = "delivered:allow:CUI", ["partner-c"] = "blocked:barrier:CUI" },
            await Send(Bravo, "status green"));
        Assert.Equal(new Dictionary<string, string> { ["allied-a"] = "redacted:mentions:UNCLASSIFIED", ["coalition-b"] = "blocked:barrier:UNCLASSIFIED" },
            await Send(Charlie, "@all see https://alpha.example/map"));
        Assert.Equal(new Dictionary<string, string> { ["coalition-b"] = "redacted:redact:phone:UNCLASSIFIED", ["partner-c"] = "redacted:redact:phone:UNCLASSIFIED" },
            await Send(Alpha, "call +1 555 010 9999"));

        Assert.Equal(new Dictionary<string, string> { ["coalition-b"] = "delivered:allow:UNCLASSIFIED", ["partner-c"] = "redacted:links:UNCLASSIFIED" },
            await Send(Alpha, "map https://alpha.example/x"));

        var toCharlie = string.Join("\n", await rig.OutboxPayloadsAsync("partner-c"));
        Assert.Contains("[UNCLASSIFIED] road closed", toCharlie, StringComparison.Ordinal);
        Assert.Contains("[UNCLASSIFIED] call [REDACTED]", toCharlie, StringComparison.Ordinal);
        Assert.Contains("\"[UNCLASSIFIED] map \"", toCharlie, StringComparison.Ordinal);
        Assert.DoesNotContain("coalition-b", toCharlie, StringComparison.Ordinal); // nothing of Bravo's, not even a puppet's name
        Assert.DoesNotContain("partner-c", string.Join("\n", await rig.OutboxPayloadsAsync("coalition-b")), StringComparison.Ordinal);
        Assert.Contains(rig.Notices, n => n.Network == "allied-a" && n.Notice.Contains("not shared with network 'partner-c' (rule: clearance)", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"```yaml\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
