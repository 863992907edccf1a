using System.Net;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Matrix.Client;
using Bridge.Matrix.Formatting;
using Bridge.Matrix.Puppets;
using Microsoft.Extensions.Logging;

namespace Bridge.Matrix.Connector;

/// <summary>Bridge → homeserver: puppets (registered, named, joined) and sends with idempotent transaction ids.</summary>
public sealed partial class MatrixConnector
{
    public async Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_ready)
        {
            return new DeliveryResult.RetryLater("homeserver not connected", null, CountsAsAttempt: false);
        }

        var e = request.Event;
        if (e.NetworkId == NetworkId && IsOwnUser(e.Sender.UserId))
        {
            return new DeliveryResult.Skipped("the bridge's own puppet");
        }

        try
        {
            var roomId = await _rooms.ResolveAsync(request.Destination.ChannelId, Client, cancellationToken);
            var puppet = await EnsurePuppetAsync(e.Sender, cancellationToken);
            await EnsureJoinedAsync(roomId, puppet, cancellationToken);
            var txnId = request.IdempotencyKey;
            switch (e.Kind)
            {
                case BridgeEventKind.Message:
                    return DeliveryResult.Ok(await Client.SendEventAsync(roomId, "m.room.message", txnId,
                        OutboundContent.Message(request, _options.LabelField), puppet, e.Timestamp, cancellationToken));
                case BridgeEventKind.Edit when request.TargetNativeId is { } edited:
                    return DeliveryResult.Ok(await Client.SendEventAsync(roomId, "m.room.message", txnId,
                        OutboundContent.Edit(request, edited, _options.LabelField), puppet, e.Timestamp, cancellationToken));
                case BridgeEventKind.Reaction when request.TargetNativeId is { } reacted && e.ReactionKey is { } key:
                    return DeliveryResult.Ok(await Client.SendEventAsync(roomId, "m.reaction", txnId,
                        OutboundContent.Reaction(reacted, key), puppet, e.Timestamp, cancellationToken));
                case BridgeEventKind.Delete when request.TargetNativeId is { } deleted:
                    return DeliveryResult.Ok(await Client.RedactAsync(roomId, deleted, txnId, null, puppet, cancellationToken));
                default:
                    return new DeliveryResult.Skipped($"{e.Kind} without a known target on {NetworkId}");
            }
        }
        catch (MatrixApiException ex) when (ex.IsRateLimited)
        {
            // Only this channel waits: the delivery worker parks it and carries on with the others.
            var after = ex.RetryAfter is { } r && r > TimeSpan.Zero ? r : TimeSpan.FromSeconds(1);
            _logger.LogInformation(MatrixLog.RateLimited, "Rate limited by the homeserver for {Room}; retrying in {After}", request.Destination.ChannelId, after);
            return new DeliveryResult.RetryLater("rate limited (M_LIMIT_EXCEEDED)", after, CountsAsAttempt: false);
        }
        catch (MatrixApiException ex) when (ex.IsTransient)
        {
            return new DeliveryResult.RetryLater(ex.Message);
        }
        catch (MatrixApiException ex) when (ex.Status == HttpStatusCode.Forbidden)
        {
            // Most often a membership or power-level problem that an operator can fix (invite the bot); retried, then dead-lettered.
            return new DeliveryResult.RetryLater(ex.Message);
        }
        catch (MatrixApiException ex) when (ex.Status == HttpStatusCode.NotFound && request.Destination.ChannelId.StartsWith('#'))
        {
            return new DeliveryResult.RetryLater($"alias {request.Destination.ChannelId} not found: {ex.Message}");
        }
        catch (MatrixApiException ex)
        {
            _logger.LogWarning(MatrixLog.DeliveryFailed, "Homeserver rejected outbox {Id}: {Error}", request.OutboxId, ex.Message);
            return new DeliveryResult.Rejected(ex.Message);
        }
        catch (HttpRequestException ex)
        {
            EnsureConnecting();
            return new DeliveryResult.RetryLater("homeserver unreachable: " + ex.Message, null, CountsAsAttempt: false);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new DeliveryResult.RetryLater("homeserver timed out: " + ex.Message);
        }
    }

    /// <summary>Registers the person's puppet once (durably remembered) and keeps its display name in sync.</summary>
    private async Task<string> EnsurePuppetAsync(PersonRef person, CancellationToken ct)
    {
        var localpart = PuppetNaming.Localpart(_options.PuppetPrefix, person.NetworkId, person.UserId);
        var userId = "@" + localpart + ":" + _options.ServerName;
        var wanted = string.IsNullOrWhiteSpace(person.DisplayName) ? person.UserId : person.DisplayName;
        if (!_puppetNames.TryGetValue(localpart, out var current))
        {
            current = await _context.State.GetAsync(PuppetScope, localpart, ct);
            if (current is null)
            {
                await Client.RegisterAppserviceUserAsync(localpart, ct);
                current = "";
                await _context.State.SetAsync(PuppetScope, localpart, current, ct);
            }

            _puppetNames[localpart] = current;
        }

        if (current != wanted)
        {
            await Client.SetDisplayNameAsync(userId, wanted, ct);
            await _context.State.SetAsync(PuppetScope, localpart, wanted, ct);
            _puppetNames[localpart] = wanted;
        }

        return userId;
    }

    /// <summary>Joins the puppet to the room; where the room needs an invite, the bridge bot sends it first.</summary>
    private async Task EnsureJoinedAsync(string roomId, string userId, CancellationToken ct)
    {
        if (_joined.ContainsKey((roomId, userId)))
        {
            return;
        }

        try
        {
            await Client.JoinAsync(roomId, userId, ct);
        }
        catch (MatrixApiException ex) when (ex.Status == HttpStatusCode.Forbidden)
        {
            if (!_joined.ContainsKey((roomId, BotUserId)))
            {
                await Client.JoinAsync(roomId, null, ct);
                _joined[(roomId, BotUserId)] = 0;
            }

            try
            {
                await Client.InviteAsync(roomId, userId, null, ct);
            }
            catch (MatrixApiException invite) when (invite.Status == HttpStatusCode.Forbidden && invite.Message.Contains("already", StringComparison.OrdinalIgnoreCase))
            {
                // Invited or joined meanwhile.
            }

            await Client.JoinAsync(roomId, userId, ct);
        }

        _joined[(roomId, userId)] = 0;
    }
}
