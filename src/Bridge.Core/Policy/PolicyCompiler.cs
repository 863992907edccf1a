using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Policy.Content;
using Bridge.Core.Policy.Labels;
using Bridge.Core.Policy.Matching;
using Microsoft.Extensions.Configuration;

namespace Bridge.Core.Policy;

/// <summary>The outcome of compiling a policy: the policy, or every problem found (each naming its full key).</summary>
public sealed record PolicyCompileResult(CompiledPolicy? Policy, IReadOnlyList<ConfigError> Errors)
{
    public bool Succeeded => Policy is not null && Errors.Count == 0;
}

/// <summary>
/// Turns the <c>policy:</c> configuration section into a <see cref="CompiledPolicy"/>: validates everything first
/// (labels, clearances, patterns, barriers, actions; and, given the topology, that every link and destination named
/// exists and every network's clearance and default label is a known label), compiles every pattern once, and merges
/// the rule layers per (link, destination).
/// </summary>
public static class PolicyCompiler
{
    internal static readonly string FingerprintOfNothing = Fingerprint([]);

    /// <summary>Compiles <paramref name="policySection"/> (normally <c>configuration.GetSection("policy")</c>).</summary>
    public static PolicyCompileResult Compile(IConfigurationSection policySection, BridgeTopology? topology = null)
    {
        ArgumentNullException.ThrowIfNull(policySection);
        var errors = new List<ConfigError>();
        var options = PolicyOptionsReader.Read(policySection, errors);
        var fingerprint = Fingerprint(policySection.AsEnumerable().Where(kv => kv.Value is not null));
        var policy = Compile(options, policySection.Path, topology, fingerprint, errors);
        return errors.Count == 0 ? new PolicyCompileResult(policy, errors) : new PolicyCompileResult(null, errors);
    }

    private static CompiledPolicy Compile(PolicyOptions o, string root, BridgeTopology? topology, string fingerprint, List<ConfigError> errors)
    {
        var labelErrors = LabelOrder.Validate(o.Labels).ToList();
        foreach (var (index, message) in labelErrors)
        {
            errors.Add(new ConfigError($"{root}:labels:{index}", message));
        }

        var labels = labelErrors.Count == 0 ? LabelOrder.Create(o.Labels) : LabelOrder.None;
        var haveLabels = labelErrors.Count == 0;

        void CheckLabel(string? value, string key)
        {
            if (value is null || !haveLabels)
            {
                return;
            }

            if (!labels.IsEnabled)
            {
                errors.Add(new ConfigError(key, $"'{value}' names a label, but policy:labels defines none"));
            }
            else if (labels.TryRank(value) is null)
            {
                errors.Add(new ConfigError(key, $"'{value}' is not one of the labels ({string.Join(" < ", labels.Names)})"));
            }
        }

        var networks = new Dictionary<string, NetworkLabels>(StringComparer.Ordinal);
        foreach (var (id, n) in o.Networks)
        {
            CheckLabel(n.Clearance, $"{root}:networks:{id}:clearance");
            CheckLabel(n.DefaultLabel, $"{root}:networks:{id}:defaultLabel");
            if (topology is not null && !topology.TryGetNetwork(id, out _))
            {
                errors.Add(new ConfigError($"{root}:networks:{id}", $"no network '{id}' is configured"));
            }

            networks[id] = new NetworkLabels(n.Clearance, n.DefaultLabel);
        }

        if (topology is not null)
        {
            // A network clearance with no labels defined would silently check nothing: refuse it.
            foreach (var n in topology.Networks)
            {
                // The policy's own setting replaces the network's, so only an unreplaced one must be valid.
                networks.TryGetValue(n.Id, out var over);
                if (over?.Clearance is null)
                {
                    CheckLabel(n.Clearance, $"networks:{n.Id}:clearance");
                }

                if (over?.DefaultLabel is null)
                {
                    CheckLabel(n.DefaultLabel, $"networks:{n.Id}:defaultLabel");
                }
            }
        }

        var barriers = new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < o.Barriers.Count; i++)
        {
            var pair = o.Barriers[i];
            if (pair.Count != 2 || pair.Any(string.IsNullOrWhiteSpace) || string.Equals(pair[0], pair[1], StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(new ConfigError($"{root}:barriers:{i}", "a barrier is a list of exactly two different organisations"));
                continue;
            }

            AddBarrier(barriers, pair[0], pair[1]);
            AddBarrier(barriers, pair[1], pair[0]);
        }

        var defaults = CompileLayer(o.Defaults, $"{root}:defaults", errors);
        var links = new Dictionary<string, LinkRules>(StringComparer.Ordinal);
        foreach (var (linkId, l) in o.Links)
        {
            var linkKey = $"{root}:links:{linkId}";
            LinkDefinition? linkDefinition = null;
            if (topology is not null && (linkDefinition = topology.Links.FirstOrDefault(x => x.Id == linkId)) is null)
            {
                errors.Add(new ConfigError(linkKey, $"no link '{linkId}' is configured"));
            }

            var linkLayer = CompileLayer(l, linkKey, errors);
            var destinations = new Dictionary<string, DestinationRules>(StringComparer.Ordinal);
            foreach (var (destId, d) in l.Destinations)
            {
                var destKey = $"{linkKey}:destinations:{destId}";
                if (linkDefinition is not null && !linkDefinition.Endpoints.Any(e => e.NetworkId == destId))
                {
                    errors.Add(new ConfigError(destKey, $"link '{linkId}' has no endpoint on network '{destId}'"));
                }

                CheckLabel(d.Clearance, destKey + ":clearance");
                var destLayer = CompileLayer(d, destKey, errors);
                var clearance = d.Clearance is not null && labels.IsEnabled ? labels.TryRank(d.Clearance) : null;
                destinations[destId] = Merge(o, [defaults, linkLayer, destLayer], d.Block, clearance);
            }

            links[linkId] = new LinkRules(destinations.ToFrozenDictionary(StringComparer.Ordinal), Merge(o, [defaults, linkLayer], false, null));
        }

        return new CompiledPolicy(
            labels,
            networks.ToFrozenDictionary(StringComparer.Ordinal),
            barriers.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToFrozenSet(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase),
            links.ToFrozenDictionary(StringComparer.Ordinal),
            Merge(o, [defaults], false, null),
            fingerprint)
        {
            NoticeSettings = CompileNotices(o, root, errors),
        };
    }

    private static NoticeSettings CompileNotices(PolicyOptions o, string root, List<ConfigError> errors)
    {
        var mode = Choice(o.BarrierNotice, $"{root}:barrierNotice", errors, "none", "generic") == "generic"
            ? BarrierNoticeMode.Generic
            : BarrierNoticeMode.None;
        if (o.NoticeWindow < 1)
        {
            errors.Add(new ConfigError($"{root}:noticeWindow", "must be at least 1 (seconds)"));
        }

        return new NoticeSettings(mode, TimeSpan.FromSeconds(Math.Max(1, o.NoticeWindow)));
    }

    private static void AddBarrier(Dictionary<string, HashSet<string>> barriers, string a, string b)
    {
        if (!barriers.TryGetValue(a.Trim(), out var set))
        {
            barriers[a.Trim()] = set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        }

        set.Add(b.Trim());
    }

    /// <summary>One layer's rules, compiled but not yet merged with the others.</summary>
    private sealed record Layer(RuleSetOptions Options, SourceFilter Filter, AttachmentFilter? Attachments, LinkFilter? Links, Redaction[] Redactions, bool? MaxLengthBlocks);

    private static Layer CompileLayer(RuleSetOptions r, string key, List<ConfigError> errors)
    {
        var allow = r.Sources.Allow;
        var deny = r.Sources.Deny;
        var filter = new SourceFilter
        {
            AllowNetworks = Patterns(allow.Networks, $"{key}:sources:allow:networks", errors),
            AllowOrganisations = Patterns(allow.Organisations, $"{key}:sources:allow:organisations", errors),
            AllowPeople = Patterns(allow.People, $"{key}:sources:allow:people", errors),
            DenyNetworks = Patterns(deny.Networks, $"{key}:sources:deny:networks", errors),
            DenyOrganisations = Patterns(deny.Organisations, $"{key}:sources:deny:organisations", errors),
            DenyPeople = Patterns(deny.People, $"{key}:sources:deny:people", errors),
        };

        var c = r.Content;
        var contentKey = key + ":content";
        AttachmentFilter? attachments = null;
        if (c.Attachments is { } a)
        {
            var block = Choice(a.Action, $"{contentKey}:attachments:action", errors, "strip", "block") == "block";
            attachments = new AttachmentFilter(a.Allowed, Patterns(a.Types, $"{contentKey}:attachments:types", errors), a.MaxBytes, block);
        }

        LinkFilter? links = null;
        if (c.Links is { } l)
        {
            for (var i = 0; i < l.AllowedDomains.Count; i++)
            {
                if (LinkFilter.CheckDomain(l.AllowedDomains[i]) is { } problem)
                {
                    errors.Add(new ConfigError($"{contentKey}:links:allowedDomains:{i}", problem));
                }
            }

            var action = Choice(l.Action, $"{contentKey}:links:action", errors, "replace", "remove", "block") switch
            {
                "remove" => LinkAction.Remove,
                "block" => LinkAction.Block,
                _ => LinkAction.Replace,
            };
            if (!l.Allowed && l.AllowedDomains.Count > 0)
            {
                errors.Add(new ConfigError($"{contentKey}:links:allowed", "'allowed: false' allows no link, yet allowedDomains lists some: remove one of them"));
            }

            links = new LinkFilter(l.Allowed ? l.AllowedDomains : [], action, l.Replacement);
        }

        var redactions = new List<Redaction>();
        for (var i = 0; i < c.Redact.Count; i++)
        {
            var item = c.Redact[i];
            var itemKey = $"{contentKey}:redact:{i}";
            if (string.IsNullOrWhiteSpace(item.Name) || item.Name.AsSpan().ContainsAny("+\r\n"))
            {
                errors.Add(new ConfigError(itemKey + ":name", "every redaction needs a public name (no '+' or line breaks): senders and the audit trail see it"));
            }

            if (string.IsNullOrEmpty(item.Pattern))
            {
                errors.Add(new ConfigError(itemKey + ":pattern", "a pattern is required"));
                continue;
            }

            if (PolicyRegex.Check(item.Pattern) is { } problem)
            {
                errors.Add(new ConfigError(itemKey + ":pattern", problem));
                continue;
            }

            var regex = PolicyRegex.Create(item.Pattern);
            if (regex.IsMatch(""))
            {
                errors.Add(new ConfigError(itemKey + ":pattern", "the pattern matches empty text, so it would redact everywhere"));
                continue;
            }

            redactions.Add(new Redaction(item.Name, regex, item.Replacement));
        }

        bool? maxLengthBlocks = c.MaxLengthAction is null ? null : Choice(c.MaxLengthAction, $"{contentKey}:maxLengthAction", errors, "truncate", "block") == "block";
        if (c.MaxLength is 0)
        {
            errors.Add(new ConfigError($"{contentKey}:maxLength", "must be at least 1"));
        }

        return new Layer(r, filter, attachments, links, redactions.ToArray(), maxLengthBlocks);
    }

    /// <summary>Merges layers, least specific first: filters and redactions add up; other settings come from the most specific layer that sets them.</summary>
    private static DestinationRules Merge(PolicyOptions o, Layer[] layers, bool block, int? clearance)
    {
        T? Last<T>(Func<Layer, T?> pick) where T : class => layers.Select(pick).LastOrDefault(v => v is not null);
        TV? LastValue<TV>(Func<Layer, TV?> pick) where TV : struct => layers.Select(pick).LastOrDefault(v => v.HasValue);

        return new DestinationRules
        {
            Block = block,
            ClearanceOverride = clearance,
            Filters = layers.Select(l => l.Filter).Where(f => !f.IsEmpty).ToArray(),
            Attachments = Last(l => l.Attachments),
            Links = Last(l => l.Links),
            Redactor = new Redactor(layers.SelectMany(l => l.Redactions).ToArray()),
            MaxLength = LastValue(l => l.Options.Content.MaxLength),
            MaxLengthBlocks = LastValue(l => l.MaxLengthBlocks) ?? false,
            NeutraliseMentions = LastValue(l => l.Options.Content.NeutraliseMentions) ?? true,
            Notices = LastValue(l => l.Options.Notices) ?? o.Notices,
        };
    }

    private static IdPatternList Patterns(List<string> entries, string key, List<ConfigError> errors)
    {
        if (entries.Count == 0)
        {
            return IdPatternList.Empty;
        }

        var list = new List<IdPattern>();
        for (var i = 0; i < entries.Count; i++)
        {
            var p = IdPattern.TryParse(entries[i], out var error);
            if (p is null)
            {
                errors.Add(new ConfigError($"{key}:{i}", error ?? "invalid pattern"));
            }
            else
            {
                list.Add(p);
            }
        }

        return new IdPatternList(list.ToArray());
    }

    private static string Choice(string value, string key, List<ConfigError> errors, params string[] allowed)
    {
        var v = value.Trim().ToLowerInvariant();
        if (allowed.Contains(v))
        {
            return v;
        }

        errors.Add(new ConfigError(key, $"'{value}' is not one of: {string.Join(", ", allowed)}"));
        return allowed[0];
    }

    internal static string Fingerprint(IEnumerable<KeyValuePair<string, string?>> entries)
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in entries.OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase))
        {
            sb.Append(k.ToLowerInvariant()).Append('=').Append(v).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }
}
