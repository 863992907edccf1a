using System.Text;
using Bridge.Core.Audit;
using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using CsCheck;
using static Bridge.Policy.Tests.TestSupport;

namespace Bridge.Policy.Tests;

/// <summary>Property tests: no event reaches a destination cleared below its label, whatever the spelling; every decision is audited once.</summary>
public class PropertyTests
{
    private static readonly string[] Pool = ["UNCLASSIFIED", "CUI", "SECRET", "CONFIDENTIAL", "RESTRICTED", "TOPSECRET", "OFFICIAL", "PROTECTED", "INTERNAL", "PUBLIC"];

    // Look-alikes the folding must see through: Cyrillic, Greek, fullwidth, mathematical bold, small capitals.
    private static readonly Dictionary<char, string[]> LookAlikes = new()
    {
        ['A'] = ["\u0410", "\u0391", "\uFF21", "\U0001D400", "\u1D00"], ['C'] = ["\u0421", "\uFF23", "\U0001D402", "\u1D04"],
        ['E'] = ["\u0415", "\u0395", "\uFF25", "\U0001D404", "\u1D07"], ['I'] = ["\u0406", "\u0399", "\uFF29", "\u026A"],
        ['O'] = ["\u041E", "\u039F", "\uFF2F", "\u1D0F"], ['P'] = ["\u0420", "\u03A1", "\uFF30", "\u1D18"],
        ['S'] = ["\u0405", "\uFF33", "\U0001D412", "\uA731"], ['T'] = ["\u0422", "\u03A4", "\uFF34", "\u1D1B"],
        ['N'] = ["\u039D", "\uFF2E", "\u0274"], ['L'] = ["\uFF2C", "\u029F"], ['U'] = ["\uFF35", "\u1D1C"], ['R'] = ["\uFF32", "\u0280"],
        ['F'] = ["\uFF26"], ['D'] = ["\uFF24", "\u1D05"], ['B'] = ["\u0412", "\u0392", "\u0299"], ['H'] = ["\u041D", "\u0397"],
        ['K'] = ["\u041A", "\u039A"], ['M'] = ["\u041C", "\u039C"], ['X'] = ["\u0425", "\u03A7"], ['Y'] = ["\u03A5"],
    };

    private static readonly string[] Invisibles = ["\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF", "\u00AD", "\u202E", "\u202C", "\u2066", "\u2069", "\uFE0F", "\u200E"];
    private static readonly string[] Opens = ["[", "\uFF3B", "\u3010", "\u27E6"];
    private static readonly string[] Closes = ["]", "\uFF3D", "\u3011", "\u27E7"];

    /// <summary>A label spelt with random case, look-alikes and invisible characters; it still means the same label.</summary>
    private static Gen<string> Disguise(string label) =>
        Gen.Select(Gen.Int[0, 3].Array[label.Length], Gen.Int[0, 1000].Array[label.Length], Gen.Int[0, 1000].Array[label.Length], (how, pick, invisible) =>
        {
            var sb = new StringBuilder();
            for (var i = 0; i < label.Length; i++)
            {
                var c = label[i];
                sb.Append(how[i] switch
                {
                    1 => char.ToLowerInvariant(c).ToString(),
                    2 when LookAlikes.TryGetValue(c, out var alikes) => alikes[pick[i] % alikes.Length],
                    _ => c.ToString(),
                });
                if (invisible[i] % 3 == 0)
                {
                    sb.Append(Invisibles[invisible[i] % Invisibles.Length]);
                }
            }

            return sb.ToString();
        });

    /// <summary>One generated case: labels, destinations with clearances, and an event with its intended label rank.</summary>
    private sealed record Case(string[] Labels, (int? Clearance, int? Override)[] Destinations, int? SourceDefault, string Text, string[] Structured, int Expected)
    {
        public override string ToString() =>
            $"labels={string.Join("<", Labels)} dests={string.Join(",", Destinations)} default={SourceDefault} text={Escape(Text)} structured=[{string.Join(",", Structured.Select(Escape))}] expected={Expected}";

        private static string Escape(string s) => string.Concat(s.Select(c => c < 0x7F ? c.ToString() : $"\\u{(int)c:X4}"));
    }

    private static Gen<Case> Cases { get; } =
        from count in Gen.Int[2, 5]
        from labels in Gen.Shuffle(Pool, count)
        from destinations in Gen.Select(Gen.Int[-1, count - 1], Gen.Int[-1, count - 1], (c, o) => (c < 0 ? (int?)null : c, o < 0 ? (int?)null : o)).Array[1, 4]
        from sourceDefault in Gen.Int[-1, count - 1]
        from markerKind in Gen.Int[0, 4] // 0 none, 1-2 known, 3 malformed, 4 unclosed
        from markerRank in Gen.Int[0, count - 1]
        from bracket in Gen.Int[0, Opens.Length - 1]
        from disguised in Disguise(labels[markerRank])
        from lead in Gen.OneOf<string>("", " ", "\u200B", "\u2060 ", "\u202E")
        from body in Gen.OneOf<string>("status report", "meet at 10", "", " see attached", "[x] done")
        from structuredRanks in Gen.Int[-1, count - 1].Array[0, 2]
        from structuredDisguised in Disguise(labels[structuredRanks.Length > 0 && structuredRanks[0] >= 0 ? structuredRanks[0] : 0])
        select Build(labels, destinations, sourceDefault, markerKind, markerRank, bracket, disguised, lead, body, structuredRanks, structuredDisguised);

    private static Case Build(string[] labels, (int?, int?)[] destinations, int sourceDefault, int markerKind, int markerRank, int bracket, string disguised,
        string lead, string body, int[] structuredRanks, string structuredDisguised)
    {
        var highest = labels.Length - 1;
        var expected = -1;
        var text = body;
        switch (markerKind)
        {
            case 0 when body.StartsWith('['):
                expected = highest; // "[x] done" looks like a marker naming no label
                break;
            case 1 or 2:
                text = $"{lead}{Opens[bracket]}{disguised}{Closes[bracket]} {body}";
                // R-L4: "[x] done" after the marker is a second leading token, naming no label: the highest.
                expected = body.StartsWith('[') ? highest : markerRank;
                break;
            case 3:
                text = $"{lead}[{disguised}Q] {body}"; // no such label: the highest
                expected = highest;
                break;
            case 4:
                text = $"{lead}[{disguised} {body}"; // never closed: looks like a marker, so the highest
                expected = highest;
                break;
        }

        var structured = new List<string>();
        for (var i = 0; i < structuredRanks.Length; i++)
        {
            var r = structuredRanks[i];
            // -1 stands for a bogus structured label, which counts as the highest.
            structured.Add(r < 0 ? "NOT-A-LABEL" : i == 0 ? structuredDisguised : labels[r].ToLowerInvariant());
            expected = Math.Max(expected, r < 0 ? highest : r);
        }

        if (expected < 0)
        {
            expected = sourceDefault < 0 ? 0 : sourceDefault;
        }

        return new Case(labels, destinations, sourceDefault < 0 ? null : sourceDefault, text, structured.ToArray(), expected);
    }

    private static (CompiledPolicy Policy, NetworkDefinition Source, NetworkDefinition[] Destinations) Setup(Case c)
    {
        var pairs = new List<(string, string?)>();
        for (var i = 0; i < c.Labels.Length; i++)
        {
            pairs.Add(($"policy:labels:{i}", c.Labels[i]));
        }

        var destinations = new NetworkDefinition[c.Destinations.Length];
        for (var i = 0; i < destinations.Length; i++)
        {
            var (clearance, over) = c.Destinations[i];
            destinations[i] = Network($"dest-{i}", $"org-{i}", clearance is { } r ? c.Labels[r] : null);
            if (over is { } o)
            {
                pairs.Add(($"policy:links:ops:destinations:dest-{i}:clearance", c.Labels[o]));
            }
        }

        var source = Network("src", "org-src", defaultLabel: c.SourceDefault is { } d ? c.Labels[d] : null);
        return (Compile(Config(pairs.ToArray())), source, destinations);
    }

    private static int EffectiveClearance(Case c, int i) =>
        Math.Min(c.Destinations[i].Clearance ?? 0, c.Destinations[i].Override ?? c.Labels.Length - 1); // no clearance: the lowest label only

    [Fact]
    public void No_event_reaches_a_destination_cleared_below_its_label()
    {
        Cases.Sample(c =>
        {
            var (policy, source, destinations) = Setup(c);
            var e = Message("src", c.Text, structured: c.Structured);
            for (var i = 0; i < destinations.Length; i++)
            {
                var d = Decide(policy, e, source, destinations[i]);
                var clearance = EffectiveClearance(c, i);
                if (d.Verdict != PolicyVerdict.Block && c.Expected > clearance)
                {
                    throw new InvalidOperationException($"delivered label {c.Labels[c.Expected]} to clearance {c.Labels[clearance]}");
                }

                // The label is recognised exactly (not merely fail-closed) and the only block is the clearance.
                if (d.Label != c.Labels[c.Expected])
                {
                    throw new InvalidOperationException($"label {d.Label} where {c.Labels[c.Expected]} was expected");
                }

                if ((d.Verdict == PolicyVerdict.Block) != (c.Expected > clearance))
                {
                    throw new InvalidOperationException($"verdict {d.Verdict} by {d.RuleId} for label {d.Label} and clearance {c.Labels[clearance]}");
                }

                if (d.Verdict != PolicyVerdict.Block && e.Text.Length > 0 && !d.Event.Text.StartsWith($"[{d.Label}]", StringComparison.Ordinal)
                    && !e.Text.Equals(d.Event.Text, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"delivered text '{d.Event.Text}' does not carry the visible label");
                }
            }
        }, iter: 3000, print: c => c.ToString());
    }

    /// <summary>A routing scenario: networks on one link with random clearances, and events from random sources.</summary>
    private sealed record RouteCase(string[] Labels, int?[] Clearances, (int Source, int Marker)[] Events, int TamperPick)
    {
        public override string ToString() => $"labels={string.Join("<", Labels)} clearances={string.Join(",", Clearances)} events={string.Join(",", Events)} tamper={TamperPick}";
    }

    private static Gen<RouteCase> RouteCases { get; } =
        from count in Gen.Int[2, 4]
        from labels in Gen.Shuffle(Pool, count)
        from networks in Gen.Int[2, 4]
        from clearances in Gen.Int[-1, count - 1].Array[networks]
        from events in Gen.Select(Gen.Int[0, networks - 1], Gen.Int[-1, count - 1]).Array[1, 6]
        from tamper in Gen.Int[0, 10_000]
        select new RouteCase(labels, clearances.Select(c => c < 0 ? (int?)null : c).ToArray(), events, tamper);

    [Fact]
    public async Task Every_decision_is_audited_once_and_the_chain_names_a_tampered_record()
    {
        await RouteCases.SampleAsync(async c =>
        {
            var networks = c.Clearances.Select((cl, i) => Network($"net-{i}", $"org-{i}", cl is { } r ? c.Labels[r] : null)).ToArray();
            var pairs = c.Labels.Select((l, i) => ($"policy:labels:{i}", (string?)l)).ToArray();
            var policy = new ReloadableSharingPolicy(Compile(Config(pairs)));
            await using var rig = await RouterRig.CreateAsync(networks, policy);
            foreach (var (source, marker) in c.Events)
            {
                var text = marker < 0 ? "plain" : $"[{c.Labels[marker]}] marked";
                await rig.Router.IngestAsync(Message(networks[source].Id, text), CancellationToken.None);
            }

            var audit = await rig.AuditAsync();
            var destinations = networks.Length - 1; // every other network of the link
            if (audit.Count != destinations * c.Events.Length)
            {
                throw new InvalidOperationException($"{audit.Count} audit records for {c.Events.Length} events x {destinations} destinations");
            }

            // Exactly one record per (event, destination).
            var keys = audit.Select(r => (r.Entry.EventKey, r.Entry.Destination)).Distinct().Count();
            if (keys != audit.Count)
            {
                throw new InvalidOperationException("a decision was audited twice");
            }

            // Outbox rows are exactly the non-blocked decisions, and none exceeds its destination's clearance.
            var delivered = audit.Where(r => r.Entry.Decision != "blocked").ToList();
            var rows = (await rig.OutboxCountsAsync()).Values.Sum();
            if (rows != delivered.Count)
            {
                throw new InvalidOperationException($"{rows} outbox rows for {delivered.Count} deliveries");
            }

            foreach (var r in delivered)
            {
                var dest = int.Parse(r.Entry.Destination.Split(':')[0]["net-".Length..], System.Globalization.CultureInfo.InvariantCulture);
                var clearance = c.Clearances[dest] ?? c.Labels.Length - 1;
                if (Array.IndexOf(c.Labels, r.Entry.Label) > clearance)
                {
                    throw new InvalidOperationException($"{r.Entry.Label} delivered to {r.Entry.Destination}");
                }
            }

            var verifier = new AuditVerifier(rig.Store, pageSize: 4);
            var report = await verifier.VerifyAsync(CancellationToken.None);
            if (!report.Ok || report.Verification.RecordsChecked != audit.Count)
            {
                throw new InvalidOperationException($"chain did not verify: {report.Verification}");
            }

            var victim = 1 + (c.TamperPick % audit.Count);
            await rig.ExecAsync($"DROP TRIGGER audit_no_update; UPDATE audit SET rule_id = rule_id || '-x' WHERE seq = {victim};");
            var broken = await verifier.VerifyAsync(CancellationToken.None);
            if (broken.Ok || broken.Verification.FirstBrokenSequence != victim)
            {
                throw new InvalidOperationException($"tampered record {victim} reported as {broken.Verification}");
            }
        }, iter: 25, threads: 1, print: c => c.ToString());
    }

    [Fact]
    public void A_redacted_phrase_never_crosses_however_it_is_disguised()
    {
        var policy = Compile("policy: { defaults: { content: { redact: [ { name: codeword, pattern: '(?i)\\bBLUE\\s+FALCON\\b' } ] } } }");
        var source = Network("src", "S");
        var destination = Network("dst", "D");
        var folded = new System.Text.RegularExpressions.Regex(@"(?i)\bBLUE\s+FALCON\b");
        var gen =
            from first in Disguise("BLUE")
            from second in Disguise("FALCON")
            from before in Gen.OneOf<string>("", "op ", "see: ", "x\u200B")
            from after in Gen.OneOf<string>("", " now", ".", " \u2060ok")
            select $"{before}{first} {second}{after}";
        gen.Sample(text =>
        {
            var d = Decide(policy, Message("src", text), source, destination);
            if (d.Verdict != PolicyVerdict.Block && folded.IsMatch(Core.Policy.Labels.TextFold.Fold(d.Event.Text)))
            {
                throw new InvalidOperationException($"'{d.Event.Text}' crossed with the phrase in it");
            }
        }, iter: 2000);
    }

    [Fact]
    public void No_event_crosses_a_barrier()
    {
        var orgs = new[] { "Alpha", "Bravo", "Charlie", "Delta" };
        var gen =
            from pairs in Gen.Select(Gen.Int[0, 3], Gen.Int[0, 3]).Array[0, 4]
            from sender in Gen.Int[0, 3]
            from senderNetwork in Gen.Int[0, 3]
            from destination in Gen.Int[0, 3]
            from kind in Gen.Enum<BridgeEventKind>()
            select (pairs.Where(p => p.Item1 != p.Item2).ToArray(), sender, senderNetwork, destination, kind);
        gen.Sample(c =>
        {
            var (pairs, sender, senderNetwork, destination, kind) = c;
            var yaml = "policy: { barriers: [" + string.Join(", ", pairs.Select(p => $"[{orgs[p.Item1]}, {orgs[p.Item2].ToUpperInvariant()}]")) + "] }";
            var policy = Compile(yaml);
            var source = Network("src", orgs[senderNetwork]);
            var e = Message("src", "hello", org: orgs[sender]) with { Kind = kind };
            var d = Decide(policy, e, source, Network("dst", orgs[destination]));
            var barred = pairs.Any(p => (p.Item1 == sender || p.Item1 == senderNetwork) && p.Item2 == destination
                                        || (p.Item2 == sender || p.Item2 == senderNetwork) && p.Item1 == destination);
            if (barred != (d.Verdict == PolicyVerdict.Block))
            {
                throw new InvalidOperationException($"{yaml}: sender {orgs[sender]} on {orgs[senderNetwork]} to {orgs[destination]} gave {d.Verdict} ({d.RuleId})");
            }
        }, iter: 500);
    }
}
