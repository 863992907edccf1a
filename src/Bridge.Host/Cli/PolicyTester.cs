using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Routing;

namespace Bridge.Host.Cli;

/// <summary>One event an operator asks about: what <c>bridge policy test</c> reads from its arguments or a JSON line.</summary>
internal sealed record PolicyTestInput(string From, string Text, string? Link = null, string? Label = null, string? FileName = null, string? Kind = null);

/// <summary>What the daemon would do with the event: its label, the rule that decided the label, and where it would go.</summary>
internal sealed record PolicyTestResult(string? Label, string? Rule, IReadOnlyList<string> To, IReadOnlyList<(string Network, string Rule)> NotTo);

/// <summary>
/// Answers "where would this go?" with the daemon's own code: the topology and policy as <see cref="Configuration.SettingsReader"/>
/// reads them, the router's destinations (<see cref="RouteTargets"/>) and <see cref="CompiledPolicy.Decide"/>.
/// </summary>
internal sealed class PolicyTester(BridgeTopology topology, CompiledPolicy policy)
{
    private long _sequence;

    /// <summary>The result, or the reason the input does not describe an event of this configuration.</summary>
    public (PolicyTestResult? Result, string? Error) Test(PolicyTestInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (string.IsNullOrWhiteSpace(input.From) || !topology.TryGetNetwork(input.From, out var source))
        {
            return (null, $"'{input.From}' is not a configured network (configured: {string.Join(", ", topology.Networks.Select(n => n.Id))})");
        }

        var kind = (input.Kind ?? (input.FileName is null ? "message" : "file")).Trim().ToLowerInvariant();
        if (kind is not ("message" or "reaction" or "file"))
        {
            return (null, $"kind '{input.Kind}' is not message, reaction or file");
        }

        if (kind == "file" && input.FileName is null)
        {
            return (null, "a file event needs a file name (--file-name, or \"file_name\")");
        }

        if (kind != "file" && input.FileName is not null)
        {
            return (null, $"a file name belongs to a file event, not a {kind}");
        }

        var links = topology.Links.Where(l => l.Endpoints.Any(e => e.NetworkId == source.Id)).ToList();
        if (input.Link is not null)
        {
            links = links.Where(l => l.Id == input.Link).ToList();
            if (links.Count == 0)
            {
                return (null, topology.Links.Any(l => l.Id == input.Link)
                    ? $"link '{input.Link}' has no endpoint on network '{source.Id}'"
                    : $"'{input.Link}' is not a configured link");
            }
        }
        else if (links.Count == 0)
        {
            return (null, $"network '{source.Id}' has no endpoint in any link");
        }

        string? label = null, rule = null;
        var to = new List<string>();
        var notTo = new List<(string, string)>();
        foreach (var link in links)
        {
            var channel = link.Endpoints.First(e => e.NetworkId == source.Id);
            var e = RouteTargets.WithSourceOrganisation(Event(input, kind, channel, source), source);
            foreach (var (_, destination, network) in RouteTargets.For(topology, [link], channel))
            {
                PolicyDecision decision;
                try
                {
                    decision = policy.Decide(new PolicyContext(e, link, source, destination, network));
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // As the router does: a policy that cannot decide blocks.
                    decision = new PolicyDecision { Verdict = PolicyVerdict.Block, Event = e, RuleId = "policy-error", Reason = ex.Message };
                }

                label ??= decision.Label;
                rule ??= decision.LabelRule;
                if (decision.Verdict == PolicyVerdict.Block)
                {
                    notTo.Add((network.Id, decision.RuleId));
                }
                else if (!to.Contains(network.Id))
                {
                    to.Add(network.Id);
                }
            }
        }

        // A network reached through one link and blocked on another is reached.
        notTo.RemoveAll(n => to.Contains(n.Item1));
        return (new PolicyTestResult(label, rule, to, notTo.Distinct().ToList()), null);
    }

    private BridgeEvent Event(PolicyTestInput input, string kind, ChannelRef channel, NetworkDefinition source)
    {
        var id = Interlocked.Increment(ref _sequence);
        return new BridgeEvent
        {
            NetworkId = source.Id,
            ChannelId = channel.ChannelId,
            NativeId = $"policy-test-{id}",
            Kind = kind == "reaction" ? BridgeEventKind.Reaction : BridgeEventKind.Message,
            Sender = new PersonRef { NetworkId = source.Id, UserId = "policy-test", DisplayName = "policy test" },
            Text = kind == "reaction" ? "" : input.Text,
            ReactionKey = kind == "reaction" ? input.Text : null,
            TargetNativeId = kind == "reaction" ? "policy-test-target" : null,
            StructuredLabels = input.Label is null ? [] : [input.Label],
            Attachments = kind == "file" ? [new Attachment { Name = input.FileName!, ContentType = "application/octet-stream", Size = 1 }] : [],
        };
    }
}
