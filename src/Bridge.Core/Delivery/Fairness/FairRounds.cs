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

    /// <summary>
    /// A pass that answered <paramref name="rooms"/> was cut short for a room outside it: those rooms count as served, so
    /// the next fetch reads the other rooms' rows first and they go on after them.
    /// </summary>
    public void YieldTo(IEnumerable<string> rooms) => _served.UnionWith(rooms);

    /// <summary>
    /// This round's share of <paramref name="batch"/> (oldest first): up to a turn per room, rooms interleaved a turn at
    /// a time. When the batch is <paramref name="complete"/> (every waiting row of the rooms not held is in it, so no
    /// room waits beyond it) all of it is taken, still interleaved, and no room is left out of the next fetch.
    /// </summary>
    public IReadOnlyList<OutboxItem> Take(IReadOnlyList<OutboxItem> batch, bool complete = false)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var cap = complete ? int.MaxValue : Turn;
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

            if (rows.Count < cap)
            {
                rows.Add(item);
            }
        }

        if (complete)
        {
            _served.Clear();
        }
        else
        {
            _served.UnionWith(byRoom.Keys);
        }

        if (rooms.Count == 1)
        {
            return rooms[0];
        }

        var order = new List<OutboxItem>(batch.Count);
        for (var start = 0; order.Count < batch.Count; start += Turn)
        {
            var any = false;
            foreach (var rows in rooms)
            {
                for (var i = start; i < rows.Count && i < start + Turn; i++)
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
