using Bridge.Core.Storage;

namespace Bridge.Core.Delivery.Fairness;

/// <summary>
/// Round-robin between the destination rooms of one network: each room with waiting rows delivers up to
/// <see cref="Turn"/> of them per round, rooms interleaved, so a flooded room delays a quiet one by at most one turn
/// per round instead of its whole backlog. Within a room rows keep their order. A room that had its turn is left out
/// of the next fetch until every room with waiting rows had one; then a new round starts.
/// </summary>
internal sealed class FairRounds(int turn)
{
    private readonly HashSet<string> _served = new(StringComparer.Ordinal);

    public int Turn { get; } = turn;

    /// <summary>Rooms that had their turn in this round (left out of the next fetch).</summary>
    public IReadOnlyCollection<string> Served => _served;

    public bool InRound => _served.Count > 0;

    public void NewRound() => _served.Clear();

    /// <summary>This round's share of <paramref name="batch"/> (oldest first): up to a turn per room, rooms interleaved.</summary>
    public IReadOnlyList<OutboxItem> Take(IReadOnlyList<OutboxItem> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var rooms = new List<List<OutboxItem>>();
        var byRoom = new Dictionary<string, List<OutboxItem>>(StringComparer.Ordinal);
        foreach (var item in batch)
        {
            var room = item.Destination.ChannelId;
            if (!byRoom.TryGetValue(room, out var rows))
            {
                rows = [];
                byRoom[room] = rows;
                rooms.Add(rows);
            }

            if (rows.Count < Turn)
            {
                rows.Add(item);
            }
        }

        foreach (var room in byRoom.Keys)
        {
            _served.Add(room);
        }

        var order = new List<OutboxItem>(Math.Min(batch.Count, rooms.Count * Turn));
        for (var i = 0; i < Turn; i++)
        {
            var any = false;
            foreach (var rows in rooms)
            {
                if (i < rows.Count)
                {
                    order.Add(rows[i]);
                    any = true;
                }
            }

            if (!any)
            {
                break;
            }
        }

        return order;
    }
}
