using Bridge.Storm.Sides;

namespace Bridge.Storm;

/// <summary>
/// One person's traffic: mostly messages, some edits of their own recent messages, reactions to others' messages they
/// see, and files, at a steady pace, whatever state the daemon is in.
/// </summary>
internal sealed class Sender(Side side, Ledger ledger, Random random, double actionsPerSecond, TextWriter log)
{
    private const double EditShare = 0.08;
    private const double ReactionShare = 0.08;
    private const double FileShare = 0.04;
    private readonly List<(string Token, string Handle)> _editable = [];
    private int _messages;
    private int _files;

    public int Failures { get; private set; }

    public async Task RunAsync(CancellationToken stop)
    {
        var pause = TimeSpan.FromSeconds(1 / actionsPerSecond);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await ActAsync(random.NextDouble(), stop);
            }
            catch (Exception ex) when (!stop.IsCancellationRequested && ex is HttpRequestException or TimeoutException or InvalidOperationException)
            {
                // The network's own server is never touched by the storm: a failure here is the harness's, say it.
                Failures++;
                log.WriteLine($"storm: {side.Network} could not act: {ex.Message}");
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Traffic stopped in the middle of an action: it is not in the ledger, so it is not counted either way.
                // (It used to end the whole storm with an unhandled exception after its last kill.)
                break;
            }

            try
            {
                // Jitter around the pace, so the three people's actions interleave differently through the run.
                await Task.Delay(pause * (0.5 + random.NextDouble()), stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task ActAsync(double roll, CancellationToken stop)
    {
        if (roll < EditShare && _editable.Count > 0)
        {
            var pick = random.Next(Math.Max(0, _editable.Count - 30), _editable.Count);
            var (token, handle) = _editable[pick];
            _editable.RemoveAt(pick);
            await side.EditAsync(handle, Tokens.EditText(token), stop);
            ledger.Add(new SentAction(side.Network, ActionKind.Edit, token, Tokens.SequenceOf(token), DateTimeOffset.UtcNow));
            return;
        }

        if (roll < EditShare + ReactionShare && await PickReactionTargetAsync(stop) is { } target)
        {
            try
            {
                await side.ReactAsync(target.ReactionId, stop);
            }
            catch
            {
                ledger.ReleaseReactionTarget(target.Token);
                throw;
            }

            ledger.Add(new SentAction(side.Network, ActionKind.Reaction, target.Token, Tokens.SequenceOf(target.Token), DateTimeOffset.UtcNow));
            return;
        }

        if (roll < EditShare + ReactionShare + FileShare)
        {
            var name = Tokens.File(side.Network, ++_files);
            await side.ShareFileAsync(name, stop);
            ledger.Add(new SentAction(side.Network, ActionKind.File, name, _files, DateTimeOffset.UtcNow));
            return;
        }

        var message = Tokens.Message(side.Network, ++_messages);
        var sent = await side.SayAsync(Tokens.MessageText(message), stop);
        ledger.Add(new SentAction(side.Network, ActionKind.Message, message, _messages, DateTimeOffset.UtcNow));
        _editable.Add((message, sent));
    }

    /// <summary>A message from another network that this person sees, recent, and not yet reacted to by anyone.</summary>
    private async Task<(string Token, string ReactionId)?> PickReactionTargetAsync(CancellationToken stop)
    {
        var view = await side.ViewAsync(stop);
        var candidates = view.Items
            .Where(i => !i.Local && !i.IsCorrection && i.ReactionId.Length > 0)
            .Select(i => (Token: Tokens.MessageOf(i.Text), i.ReactionId))
            .Where(c => c.Token is not null && Tokens.SourceOf(c.Token) != side.Network)
            .TakeLast(40)
            .ToList();
        for (var attempt = 0; attempt < 5 && candidates.Count > 0; attempt++)
        {
            var pick = candidates[random.Next(candidates.Count)];
            if (ledger.ClaimReactionTarget(pick.Token!, side.Network))
            {
                return (pick.Token!, pick.ReactionId);
            }
        }

        return null;
    }
}
