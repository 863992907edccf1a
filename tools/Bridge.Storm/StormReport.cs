using System.Globalization;

namespace Bridge.Storm;

/// <summary>What a storm measured, and whether the promises held: nothing lost, nothing doubled, each sender's messages in order.</summary>
public sealed class StormReport(StormOptions options, IReadOnlyList<KillRecord> kills, IReadOnlyList<PairCounts> counts,
    IReadOnlyList<SentAction> sent, DateTimeOffset started, TimeSpan duration, int senderFailures)
{
    private const int ShownTokens = 8;

    public StormOptions Options => options;
    public IReadOnlyList<KillRecord> Kills => kills;
    public IReadOnlyList<PairCounts> Counts => counts;
    public TimeSpan Duration => duration;
    public int SenderFailures => senderFailures;

    public int Lost(ActionKind kind) => counts.Where(c => c.Kind == kind).Sum(c => c.Lost.Count);

    public int Duplicated(ActionKind kind) => counts.Where(c => c.Kind == kind).Sum(c => c.Duplicated.Count);

    public int Reordered => counts.Where(c => c.Kind == ActionKind.Message).Sum(c => c.Reordered.Count);

    /// <summary>Every kind of action arrived exactly once at every other network, and each sender's messages in order.</summary>
    public bool Passed => counts.All(c => c.Lost.Count == 0 && c.Duplicated.Count == 0 && c.Reordered.Count == 0);

    public void Print(TextWriter output)
    {
        var sigkills = kills.Count(k => k.Kind == KillKind.Sigkill);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"storm: seed {options.Seed}; {kills.Count} kills ({sigkills} SIGKILL, {kills.Count - sigkills} SIGTERM) in {duration.TotalSeconds:0} s of traffic; {sent.Count} actions sent"));
        foreach (var kind in Enum.GetValues<ActionKind>())
        {
            var rows = counts.Where(c => c.Kind == kind).ToList();
            output.WriteLine();
            output.WriteLine(kind == ActionKind.Message
                ? $"{"messages",-16} {"sent",6} {"delivered",10} {"lost",6} {"duplicated",11} {"reordered",10}"
                : $"{Plural(kind),-16} {"sent",6} {"delivered",10} {"lost",6} {"duplicated",11}");
            foreach (var c in rows)
            {
                output.WriteLine(kind == ActionKind.Message
                    ? $"{c.Pair,-16} {c.Sent,6} {c.Delivered,10} {c.Lost.Count,6} {c.Duplicated.Count,11} {c.Reordered.Count,10}"
                    : $"{c.Pair,-16} {c.Sent,6} {c.Delivered,10} {c.Lost.Count,6} {c.Duplicated.Count,11}");
            }
        }

        output.WriteLine();
        foreach (var c in counts)
        {
            Detail(output, c, "lost", c.Lost);
            Detail(output, c, "duplicated", c.Duplicated);
            Detail(output, c, "reordered", c.Reordered);
        }

        foreach (var k in kills.Where(k => k.Problem is not null))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"kill #{k.Index} ({k.Kind} at {k.At.TotalSeconds:0.0} s): {k.Problem}"));
        }

        if (senderFailures > 0)
        {
            output.WriteLine($"{senderFailures} actions failed at their own network's server (not counted as sent)");
        }

        output.WriteLine(Passed
            ? $"storm: PASS (seed {options.Seed})"
            : $"storm: FAIL (seed {options.Seed}): {Lost(ActionKind.Message)} messages lost, {Duplicated(ActionKind.Message)} duplicated, {Reordered} reordered; " +
              $"edits {Lost(ActionKind.Edit)} lost {Duplicated(ActionKind.Edit)} duplicated; reactions {Lost(ActionKind.Reaction)} lost {Duplicated(ActionKind.Reaction)} duplicated; " +
              $"files {Lost(ActionKind.File)} lost {Duplicated(ActionKind.File)} duplicated");
    }

    private static string Plural(ActionKind kind) => kind switch
    {
        ActionKind.Edit => "edits",
        ActionKind.Reaction => "reactions",
        ActionKind.File => "files",
        _ => "messages",
    };

    /// <summary>The first few tokens of an anomaly, each with when it was sent and the kill nearest that time.</summary>
    private void Detail(TextWriter output, PairCounts c, string what, IReadOnlyList<string> tokens)
    {
        if (tokens.Count == 0)
        {
            return;
        }

        var shown = tokens.Take(ShownTokens).Select(t =>
        {
            var token = t.Split(' ')[0];
            var action = sent.FirstOrDefault(a => a.Token == token && a.Kind == c.Kind && a.Source == c.From);
            if (action is null)
            {
                return t;
            }

            var at = action.At - started;
            var near = kills.MinBy(k => Math.Abs((k.At - at).TotalMilliseconds));
            return near is null ? t : string.Create(CultureInfo.InvariantCulture,
                $"{t} (sent {at.TotalSeconds:0.0} s; nearest kill #{near.Index} {near.Kind} at {near.At.TotalSeconds:0.0} s)");
        });
        output.WriteLine($"{Plural(c.Kind)} {c.Pair} {what} ({tokens.Count}): {string.Join(", ", shown)}{(tokens.Count > ShownTokens ? ", …" : "")}");
    }
}
