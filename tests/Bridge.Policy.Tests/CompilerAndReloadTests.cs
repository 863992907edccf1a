using Bridge.Core.Audit;
using Bridge.Core.Configuration;
using Bridge.Core.Policy;
using Microsoft.Extensions.Logging.Abstractions;
using static Bridge.Policy.Tests.TestSupport;

namespace Bridge.Policy.Tests;

public class CompilerAndReloadTests
{
    private static readonly NetworkDefinition A = Network("org-a", "A");
    private static readonly NetworkDefinition B = Network("org-b", "B", clearance: "CUI");

    private static IReadOnlyList<string> Errors(string yaml, BridgeTopology? topology = null) =>
        PolicyCompiler.Compile(Yaml(yaml).GetSection("policy"), topology).Errors.Select(e => e.Key).ToList();

    [Fact]
    public void Errors_name_the_full_key()
    {
        const string yaml = """
            policy:
              labels: [UNCLASSIFIED, CUI, SECRET]
              clearence: CUI
              barriers: [[A]]
              networks:
                org-a: { clearance: TOPSECRET }
              links:
                ops:
                  sources: { deny: { people: ['re:(unclosed'] } }
                  content:
                    redact: [ { name: bad, pattern: '[' }, { pattern: 'x' }, { name: empty, pattern: 'a*' } ]
                    links: { allowedDomains: ['http://x.org'], action: explode }
                    maxLength: lots
                  destinations:
                    org-b: { clearance: SECERT }
            """;
        var keys = Errors(yaml);
        Assert.Contains("policy:clearence", keys);
        Assert.Contains("policy:barriers:0", keys);
        Assert.Contains("policy:networks:org-a:clearance", keys);
        Assert.Contains("policy:links:ops:sources:deny:people:0", keys);
        Assert.Contains("policy:links:ops:content:redact:0:pattern", keys);
        Assert.Contains("policy:links:ops:content:redact:1:name", keys);
        Assert.Contains("policy:links:ops:content:redact:2:pattern", keys);
        Assert.Contains("policy:links:ops:content:links:allowedDomains:0", keys);
        Assert.Contains("policy:links:ops:content:links:action", keys);
        Assert.Contains("policy:links:ops:content:maxLength", keys);
        Assert.Contains("policy:links:ops:destinations:org-b:clearance", keys);
    }

    [Fact]
    public void With_the_topology_unknown_links_destinations_and_network_labels_are_errors()
    {
        var topology = new BridgeTopology([A, B with { Clearance = "SECRT" }], [Link("ops", A, B)]);
        const string yaml = """
            policy:
              labels: [UNCLASSIFIED, CUI, SECRET]
              links:
                opz: { notices: true }
                ops: { destinations: { org-z: { clearance: CUI } } }
            """;
        var keys = Errors(yaml, topology);
        Assert.Contains("policy:links:opz", keys);
        Assert.Contains("policy:links:ops:destinations:org-z", keys);
        Assert.Contains("networks:org-b:clearance", keys);
    }

    [Fact]
    public void Empty_yaml_values_mean_unset()
    {
        var policy = Compile("policy:\n  labels: [LOW, HIGH]\n  notices:\n  networks:\n    org-b: { clearance: , defaultLabel: ~ }\n  defaults:\n    content:\n");
        // Unset clearance: the lowest label only, however the emptiness is written.
        Assert.Equal(PolicyVerdict.Block, Decide(policy, Message("org-a", "[HIGH] x"), A, Network("org-b", "B")).Verdict);
        Assert.Equal(PolicyVerdict.Deliver, Decide(policy, Message("org-a", "[LOW] x"), A, Network("org-b", "B")).Verdict);
    }

    [Fact]
    public void Labels_must_exist_before_anything_names_one()
    {
        var topology = new BridgeTopology([A, B], [Link("ops", A, B)]);
        Assert.Contains("networks:org-b:clearance", Errors("policy: { notices: true }", topology));
        Assert.Empty(Errors("policy: { labels: [UNCLASSIFIED, CUI] }", topology));
        Assert.Contains("policy:networks:org-a:clearance", Errors("policy: { networks: { org-a: { clearance: CUI } } }"));
        Assert.Contains("policy:labels:1", Errors("policy: { labels: [CUI, cui] }"));
    }

    [Fact]
    public void An_absent_section_compiles_to_a_permissive_policy()
    {
        var result = PolicyCompiler.Compile(Config().GetSection("policy"));
        Assert.True(result.Succeeded);
        Assert.Equal(CompiledPolicy.Permissive.Fingerprint, result.Policy!.Fingerprint);
        Assert.Equal(PolicyVerdict.Deliver, Decide(result.Policy, Message("org-a", "[SECRET] hi"), A, B).Verdict);
    }

    [Fact]
    public void Reload_swaps_a_valid_policy_and_refuses_a_bad_one_keeping_the_old()
    {
        var config = Config(("policy:labels:0", "UNCLASSIFIED"), ("policy:labels:1", "CUI"), ("policy:labels:2", "SECRET"));
        var policy = new ReloadableSharingPolicy(Compile(config));
        var secret = Message("org-a", "[SECRET] x");
        Assert.Equal(PolicyVerdict.Block, Decide(policy, secret, A, B).Verdict);

        // Unchanged configuration: nothing to do.
        Assert.Equal(PolicyReloadStatus.Unchanged, policy.TryReload(config).Status);

        // A bad policy (a clearance naming no label) is refused; the old one stays in force.
        config["policy:networks:org-b:clearance"] = "TOP-SECRET";
        var before = policy.Current;
        var refused = policy.TryReload(config);
        Assert.Equal(PolicyReloadStatus.Refused, refused.Status);
        Assert.Contains(refused.Errors, e => e.Key == "policy:networks:org-b:clearance");
        Assert.Same(before, policy.Current);
        Assert.Equal(PolicyVerdict.Block, Decide(policy, secret, A, B).Verdict);

        // A good change takes effect at once.
        config["policy:networks:org-b:clearance"] = "SECRET";
        var accepted = policy.TryReload(config);
        Assert.Equal(PolicyReloadStatus.Accepted, accepted.Status);
        Assert.NotEqual(accepted.PreviousFingerprint, accepted.CurrentFingerprint);
        Assert.Equal(PolicyVerdict.Deliver, Decide(policy, secret, A, B).Verdict);
    }

    [Fact]
    public async Task Reloader_writes_a_policy_reload_audit_record_for_accepted_and_refused_changes()
    {
        var config = Config(("policy:labels:0", "LOW"), ("policy:labels:1", "HIGH"));
        var policy = new ReloadableSharingPolicy(Compile(config));
        await using var rig = await RouterRig.CreateAsync([A, B], policy);
        using var reloader = new PolicyReloader(policy, config, rig.Store, NullLogger<PolicyReloader>.Instance);

        config["policy:labels:2"] = "HIGHER";
        Assert.Equal(PolicyReloadStatus.Accepted, (await reloader.ReloadAsync(CancellationToken.None)).Status);
        config["policy:networks:org-b:clearance"] = "HIGHEST";
        Assert.Equal(PolicyReloadStatus.Refused, (await reloader.ReloadAsync(CancellationToken.None)).Status);
        var afterRefusal = policy.Current.Fingerprint;
        config["policy:networks:org-b:clearance"] = "HIGH";
        Assert.Equal(PolicyReloadStatus.Accepted, (await reloader.ReloadAsync(CancellationToken.None)).Status);
        Assert.Equal(PolicyReloadStatus.Unchanged, (await reloader.ReloadAsync(CancellationToken.None)).Status);

        var audit = await rig.AuditAsync();
        Assert.Equal(["accepted", "refused", "accepted"], audit.Select(r => r.Entry.Decision));
        Assert.All(audit, r => Assert.Equal(PolicyAudit.ReloadKind, r.Entry.Kind));
        Assert.Contains("policy:networks:org-b:clearance", audit[1].Entry.Content, StringComparison.Ordinal);
        Assert.Equal(afterRefusal, audit[1].Entry.ContentHash); // the policy still in force after the refusal
        Assert.Equal(policy.Current.Fingerprint, audit[2].Entry.ContentHash);
        Assert.True((await new AuditVerifier(rig.Store).VerifyAsync(CancellationToken.None)).Ok);
    }

    [Fact]
    public async Task Reload_is_atomic_under_concurrent_decisions()
    {
        var low = Config(("policy:labels:0", "LOW"), ("policy:labels:1", "HIGH"), ("policy:networks:org-b:clearance", "LOW"));
        var high = Config(("policy:labels:0", "LOW"), ("policy:labels:1", "HIGH"), ("policy:networks:org-b:clearance", "HIGH"));
        var policy = new ReloadableSharingPolicy(Compile(low));
        var e = Message("org-a", "[HIGH] x");
        using var stop = new CancellationTokenSource();
        var seen = new System.Collections.Concurrent.ConcurrentBag<PolicyVerdict>();
        using var started = new SemaphoreSlim(0);
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                seen.Add(Decide(policy, e, A, B).Verdict);
                if (seen.Count == 1)
                {
                    started.Release();
                }
            }
        });
        await started.WaitAsync();
        for (var i = 0; i < 200; i++)
        {
            Assert.NotEqual(PolicyReloadStatus.Refused, policy.TryReload(i % 2 == 0 ? high : low).Status);
        }

        stop.Cancel();
        await reader;
        Assert.All(seen, v => Assert.True(v is PolicyVerdict.Block or PolicyVerdict.Deliver));
        Assert.Contains(PolicyVerdict.Block, seen);
        Assert.Equal(PolicyVerdict.Block, Decide(policy, e, A, B).Verdict); // the last reload (i = 199, low) is in force
    }

    [Fact]
    public async Task Watching_reloads_when_the_configuration_signals_a_change()
    {
        var config = Config(("policy:labels:0", "LOW"), ("policy:labels:1", "HIGH"), ("policy:networks:org-b:clearance", "LOW"));
        var policy = new ReloadableSharingPolicy(Compile(config));
        await using var rig = await RouterRig.CreateAsync([A, B], policy);
        using var reloader = new PolicyReloader(policy, config, rig.Store, NullLogger<PolicyReloader>.Instance);
        reloader.Watch();

        config["policy:networks:org-b:clearance"] = "HIGH";
        config.Reload(); // what a file provider does when the file changes

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await rig.AuditAsync()).Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var record = Assert.Single(await rig.AuditAsync());
        Assert.Equal("accepted", record.Entry.Decision);
        Assert.Equal(PolicyVerdict.Deliver, Decide(policy, Message("org-a", "[HIGH] x"), A, B).Verdict);
    }

    [Fact]
    public async Task Sighup_reloads_the_policy()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var config = Config(("policy:labels:0", "LOW"), ("policy:labels:1", "HIGH"), ("policy:networks:org-b:clearance", "LOW"));
        var policy = new ReloadableSharingPolicy(Compile(config));
        await using var rig = await RouterRig.CreateAsync([A, B], policy);
        using var reloader = new PolicyReloader(policy, config, rig.Store, NullLogger<PolicyReloader>.Instance);
        using var service = new PolicyReloadService(reloader, config, NullLogger<PolicyReloadService>.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            config["policy:networks:org-b:clearance"] = "HIGH";
            using (var kill = System.Diagnostics.Process.Start("kill", ["-HUP", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
                Assert.Equal(0, kill.ExitCode);
            }

            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Decide(policy, Message("org-a", "[HIGH] x"), A, B).Verdict == PolicyVerdict.Block && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.Equal(PolicyVerdict.Deliver, Decide(policy, Message("org-a", "[HIGH] x"), A, B).Verdict);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task A_reload_that_would_remove_or_empty_the_policy_is_refused_and_audited(string? emptied)
    {
        var config = Config(("policy:labels:0", "LOW"), ("policy:labels:1", "HIGH"), ("policy:networks:org-b:clearance", "LOW"));
        var policy = new ReloadableSharingPolicy(Compile(config));
        await using var rig = await RouterRig.CreateAsync([A, B], policy);
        using var reloader = new PolicyReloader(policy, config, rig.Store, NullLogger<PolicyReloader>.Instance);
        var before = policy.Current;

        config["policy:labels:0"] = null;
        config["policy:labels:1"] = null;
        config["policy:networks:org-b:clearance"] = null;
        config["policy"] = emptied;
        var result = await reloader.ReloadAsync(CancellationToken.None);

        Assert.Equal(PolicyReloadStatus.Refused, result.Status);
        Assert.Same(before, policy.Current);
        Assert.Equal(PolicyVerdict.Block, Decide(policy, Message("org-a", "[HIGH] x"), A, B).Verdict);
        var audit = Assert.Single(await rig.AuditAsync());
        Assert.Equal("refused", audit.Entry.Decision);
        Assert.Contains("policy", audit.Entry.Content, StringComparison.Ordinal);
    }

    [Fact]
    public void A_network_without_a_clearance_is_cleared_for_the_lowest_label_only()
    {
        var policy = Compile("policy: { labels: [LOW, MID, HIGH] }");
        var uncleared = Network("org-b", "B");

        Assert.Equal(PolicyVerdict.Deliver, Decide(policy, Message("org-a", "[LOW] x"), A, uncleared).Verdict);
        var mid = Decide(policy, Message("org-a", "[MID] x"), A, uncleared);
        Assert.Equal(PolicyVerdict.Block, mid.Verdict);
        Assert.Equal("clearance", mid.RuleId);
        Assert.Equal(PolicyVerdict.Block, Decide(policy, Message("org-a", "[HIGH] x"), A, uncleared).Verdict);
    }
}
