using Bridge.Storm.Sides;

namespace Bridge.Storm;

/// <summary>The counts of one kind of action over one directed pair of networks.</summary>
public sealed record PairCounts(string From, string To, ActionKind Kind, int Sent, int Delivered, IReadOnlyList<string> Lost,
    IReadOnlyList<string> Duplicated, IReadOnlyList<string> Reordered)
{
    public string Pair => $"{From}->{To}";
}

/// <summary>
/// Counts, for every action sent, its copies in each other network's room as that network's person sees it: a message
/// by its token at the start of a text; an edit by its <c>ed:</c> token; a reaction by the message it is on; a file by
/// its name on a media item (or, where none arrived as media, in a link).
/// </summary>
internal static class Tally
{
    public static IReadOnlyList<PairCounts> Count(IReadOnlyList<SentAction> sent, IReadOnlyDictionary<string, RoomView> views)
    {
        var result = new List<PairCounts>();
        var networks = views.Keys.ToList();
        var seen = views.ToDictionary(v => v.Key, v => Copies.Of(v.Key, v.Value));
        foreach (var kind in Enum.GetValues<ActionKind>())
        {
            foreach (var from in networks)
            {
                foreach (var to in networks.Where(n => n != from))
                {
                    var actions = sent.Where(a => a.Kind == kind && a.Source == from).ToList();
                    var copies = seen[to].Of(kind);
                    var lost = actions.Where(a => copies.GetValueOrDefault(a.Token) == 0).Select(a => a.Token).ToList();
                    var doubled = actions.Where(a => copies.GetValueOrDefault(a.Token) > 1).Select(a => $"{a.Token} x{copies[a.Token]}").ToList();
                    var reordered = kind == ActionKind.Message ? Reordered(seen[to].MessageOrder.Where(t => Tokens.SourceOf(t) == from)) : [];
                    result.Add(new PairCounts(from, to, kind, actions.Count, actions.Count - lost.Count, lost, doubled, reordered));
                }
            }
        }

        return result;
    }

    /// <summary>Tokens that arrived after a later message of the same sender had (first copies, in the room's order).</summary>
    private static List<string> Reordered(IEnumerable<string> order)
    {
        var late = new List<string>();
        var highest = 0;
        foreach (var token in order)
        {
            var seq = Tokens.SequenceOf(token);
            if (seq < highest)
            {
                late.Add(token);
            }

            highest = Math.Max(highest, seq);
        }

        return late;
    }

    /// <summary>What one room shows of the other networks' actions.</summary>
    private sealed class Copies
    {
        private readonly Dictionary<ActionKind, Dictionary<string, int>> _counts = Enum.GetValues<ActionKind>().ToDictionary(k => k, _ => new Dictionary<string, int>(StringComparer.Ordinal));

        public List<string> MessageOrder { get; } = [];

        public Dictionary<string, int> Of(ActionKind kind) => _counts[kind];

        public static Copies Of(string network, RoomView view)
        {
            var copies = new Copies();
            var messageOfId = new Dictionary<string, string>(StringComparer.Ordinal);
            var linkedFiles = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var item in view.Items)
            {
                var message = item.IsCorrection ? null : Tokens.MessageOf(item.Text);
                if (message is not null)
                {
                    foreach (var id in item.Ids)
                    {
                        messageOfId[id] = message;
                    }
                }

                if (item.Local)
                {
                    continue;
                }

                if (message is not null && Tokens.SourceOf(message) != network)
                {
                    if (copies.Add(ActionKind.Message, message) == 1)
                    {
                        copies.MessageOrder.Add(message);
                    }
                }

                if (Tokens.EditOf(item.Text) is { } edited && Tokens.SourceOf(edited) != network)
                {
                    copies.Add(ActionKind.Edit, edited);
                }

                var media = item.FileNames.SelectMany(Tokens.FilesIn).Distinct(StringComparer.Ordinal).ToList();
                foreach (var file in media)
                {
                    copies.Add(ActionKind.File, file);
                }

                foreach (var file in Tokens.FilesIn(item.Text).Distinct(StringComparer.Ordinal).Except(media, StringComparer.Ordinal))
                {
                    linkedFiles[file] = linkedFiles.GetValueOrDefault(file) + 1;
                }
            }

            // A file that arrived nowhere as media counts by the links to it (the bridge sends a link when it cannot copy).
            foreach (var (file, links) in linkedFiles)
            {
                if (copies.Of(ActionKind.File).GetValueOrDefault(file) == 0)
                {
                    copies.Of(ActionKind.File)[file] = links;
                }
            }

            foreach (var reaction in view.Reactions.Where(r => !r.Local))
            {
                if (messageOfId.TryGetValue(reaction.TargetId, out var target))
                {
                    copies.Add(ActionKind.Reaction, target);
                }
            }

            return copies;
        }

        private int Add(ActionKind kind, string token)
        {
            var counts = _counts[kind];
            var n = counts.GetValueOrDefault(token) + 1;
            counts[token] = n;
            return n;
        }
    }
}
