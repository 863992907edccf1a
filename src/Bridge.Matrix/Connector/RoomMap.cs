using System.Collections.Concurrent;
using Bridge.Matrix.Client;

namespace Bridge.Matrix.Connector;

/// <summary>
/// The linked rooms of this network: configured channel ids (room ids or aliases) and the room ids they resolve to,
/// both ways, so events are reported under the id the link configuration uses.
/// </summary>
internal sealed class RoomMap(IReadOnlyList<string> channels)
{
    private readonly ConcurrentDictionary<string, string> _roomByChannel = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _channelByRoom = new(StringComparer.Ordinal);

    private volatile IReadOnlyList<string> _channels = channels;

    /// <summary>The linked channels now (links change at run time through the admin API).</summary>
    public IReadOnlyList<string> Channels => _channels;

    /// <summary>A channel linked at run time.</summary>
    public void Add(string channel)
    {
        lock (_roomByChannel)
        {
            if (!_channels.Contains(channel, StringComparer.Ordinal))
            {
                _channels = [.. _channels, channel];
            }
        }
    }

    /// <summary>A channel unlinked at run time; returns its room id when it was resolved.</summary>
    public string? Remove(string channel)
    {
        lock (_roomByChannel)
        {
            _channels = [.. _channels.Where(c => !string.Equals(c, channel, StringComparison.Ordinal))];
        }

        if (_roomByChannel.TryRemove(channel, out var roomId))
        {
            _channelByRoom.TryRemove(roomId, out _);
            return roomId;
        }

        return null;
    }

    public string? ChannelFor(string roomId) => _channelByRoom.GetValueOrDefault(roomId);

    /// <summary>Resolves a configured channel to its room id (directory look-up for aliases, cached).</summary>
    public async Task<string> ResolveAsync(string channel, MatrixClient client, CancellationToken ct)
    {
        if (_roomByChannel.TryGetValue(channel, out var cached))
        {
            return cached;
        }

        var roomId = channel.StartsWith('#') ? await client.ResolveAliasAsync(channel, ct) : channel;
        _roomByChannel[channel] = roomId;
        _channelByRoom.TryAdd(roomId, channel);
        return roomId;
    }

    /// <summary>Finds the configured channel of a room, resolving aliases not yet known (used when the bot is invited).</summary>
    public async Task<string?> FindChannelAsync(string roomId, MatrixClient client, CancellationToken ct)
    {
        if (ChannelFor(roomId) is { } known)
        {
            return known;
        }

        foreach (var channel in Channels)
        {
            if (_roomByChannel.ContainsKey(channel))
            {
                continue;
            }

            try
            {
                if (await ResolveAsync(channel, client, ct) == roomId)
                {
                    return channel;
                }
            }
            catch (MatrixApiException ex) when (!ex.IsTransient && !ex.IsRateLimited)
            {
                // Alias not created yet: not this room.
            }
        }

        return ChannelFor(roomId);
    }
}
