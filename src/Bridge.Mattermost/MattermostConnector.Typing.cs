using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Bridge.Core.Model;
using Bridge.Core.Typing;

namespace Bridge.Mattermost;

/// <summary>
/// Typing: the WebSocket <c>typing</c> event of a person in a linked channel goes to the core's typing relay (never the
/// outbox); Mattermost sends no "stopped", so the bridge reports the stop itself after <see cref="TypingLasts"/> without
/// a new event, as clients drop the indicator. A puppet that exists already shows typing with <c>POST /users/{id}/typing</c>.
/// </summary>
public sealed partial class MattermostConnector : ITypingTarget
{
    private static readonly TimeSpan TypingLasts = TimeSpan.FromSeconds(6);
    private readonly ConcurrentDictionary<(string Channel, string User), CancellationTokenSource> _typingStops = new();

    private async Task HandleTypingAsync(JsonObject data, CancellationToken ct)
    {
        var userId = data["user_id"] is JsonValue u && u.TryGetValue<string>(out var uid) ? uid : null;
        var channelId = data["channel_id"] is JsonValue c && c.TryGetValue<string>(out var cid) ? cid : null;
        if (userId is not { Length: > 0 } || channelId is null || OwnChannel(channelId) is not { } channel || IsOwnUser(userId))
        {
            return;
        }
        var person = await PersonAsync(userId, null, ct);
        var where = new ChannelRef(_network.Id, channel.ConfiguredId);
        _context.Typing.Typing(where, person, true);

        var key = (channel.ConfiguredId, userId);
        var stop = new CancellationTokenSource();
        if (_typingStops.TryRemove(key, out var previous))
        {
            try
            {
                previous.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Its timer ran out meanwhile and disposed it: nothing left to cancel. Must not reach the event loop,
                // where an exception would count as a lost event and force a full catch-up.
            }
        }

        _typingStops[key] = stop;
        _ = Task.Delay(TypingLasts, _context.Time, stop.Token).ContinueWith(t =>
        {
            if (!t.IsCanceled && _typingStops.TryRemove(KeyValuePair.Create(key, stop)))
            {
                _context.Typing.Typing(where, person, false);
            }
            stop.Dispose();
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    public async Task ShowTypingAsync(ChannelRef destination, PersonRef person, bool typing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(person);
        // Mattermost shows typing for a few seconds and has no "stopped": a stop needs nothing.
        if (!typing || !_byConfigured.TryGetValue(destination.ChannelId, out var channel) || _puppets.Find(person) is not { } puppet)
        {
            return;
        }
        await _api.PublishTypingAsync(puppet.UserId, channel.NativeId, AdminToken, cancellationToken);
    }
}
