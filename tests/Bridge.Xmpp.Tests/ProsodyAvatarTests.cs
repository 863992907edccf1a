using System.Security.Cryptography;
using Bridge.Core.Connectors;
using Bridge.Core.Media;
using Bridge.Core.Profiles;
using Bridge.Xmpp.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Xmpp.Tests;

/// <summary>
/// XEP-0153 on a real Prosody (mod_vcard): a person's photo hash from their room presence, the bytes read from their
/// vCard through the room; a puppet's hash in its presence and its vCard answered by the component.
/// </summary>
public sealed class ProsodyAvatarTests(ProsodyFixture fixture) : IClassFixture<ProsodyFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly ProsodyServer _server = fixture.Server;

    [Fact]
    public async Task A_persons_picture_is_read_through_the_room_and_a_puppet_shows_and_serves_one()
    {
        var room = _server.NewRoom("avatars");
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("ivy");
        await using var ivy = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Ivy");
        var picture = new byte[3000];
        RandomNumberGenerator.Fill(picture);
        new byte[] { 0xFF, 0xD8, 0xFF }.CopyTo(picture, 0);
        await ivy.SetAvatarAsync(picture, "image/jpeg");

        // In: her next message names her picture by its SHA-1; the bytes come from her vCard, through the room.
        await ivy.SayConfirmedAsync("hello with a picture");
        var ev = (await bridge.Sink.WaitForAsync(e => e.Text == "hello with a picture", 1, Wait))[0];
        var avatar = ev.Sender.Avatar;
        Assert.NotNull(avatar);
        Assert.Equal(Convert.ToHexStringLower(SHA1.HashData(picture)), avatar.Version);
        Assert.Equal(ConnectorHarness.NetworkId, avatar.Source.NetworkId);
        var reader = new AvatarReader(new MediaReader(bridge.Registry, NullLogger.Instance), TimeProvider.System, NullLogger.Instance);
        var image = await reader.ReadAsync(avatar, CancellationToken.None);
        Assert.Equal(picture, image?.Bytes);
        Assert.Equal("image/jpeg", image?.ContentType);

        // Out: a person of another network with that picture; their puppet advertises it and serves it in its vCard.
        var request = ConnectorHarness.Message(701, room, "Hal", "hi from elsewhere");
        request = request with { Event = request.Event with { Sender = request.Event.Sender with { Avatar = avatar } } };
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(request, CancellationToken.None));
        await ivy.WaitForMessagesAsync(m => m.FromNick == "Hal", 1, Wait);
        var deadline = DateTime.UtcNow + Wait;
        while (ivy.Photos.GetValueOrDefault("Hal") != avatar.Version && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25);
        }
        Assert.Equal(avatar.Version, ivy.Photos.GetValueOrDefault("Hal"));
        var vcard = await ivy.GetVcardAsync("Hal");
        Assert.Equal(picture, vcard.Photo);
        Assert.Equal("image/jpeg", vcard.PhotoType);
        Assert.Equal("Hal", vcard.FullName);
    }

    [Fact]
    public async Task A_removed_picture_is_said_by_an_empty_photo_and_taken_off_the_puppet()
    {
        var room = _server.NewRoom("avatars-gone");
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("ida");
        await using var ida = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Ida");
        var picture = new byte[2000];
        RandomNumberGenerator.Fill(picture);
        new byte[] { 0xFF, 0xD8, 0xFF }.CopyTo(picture, 0);
        await ida.SetAvatarAsync(picture, "image/jpeg");
        await ida.SayConfirmedAsync("with a picture");
        var avatar = (await bridge.Sink.WaitForAsync(e => e.Text == "with a picture", 1, Wait))[0].Sender.Avatar;
        Assert.NotNull(avatar);

        // A puppet shows the picture, then its person removes theirs: it advertises an empty photo and its vCard has none.
        async Task DeliverAsHalAsync(long id, AvatarRef? picture, bool removed)
        {
            var request = ConnectorHarness.Message(id, room, "Hal", $"message {id}");
            request = request with { Event = request.Event with { Sender = request.Event.Sender with { Avatar = picture, AvatarRemoved = removed } } };
            Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(request, CancellationToken.None));
            await ida.WaitForMessagesAsync(m => m.FromNick == "Hal" && m.Body == $"message {id}", 1, Wait);
        }
        async Task WaitForPhotoAsync(string hash)
        {
            var deadline = DateTime.UtcNow + Wait;
            while (ida.Photos.GetValueOrDefault("Hal") != hash && DateTime.UtcNow < deadline)
            {
                await Task.Delay(25);
            }
            Assert.Equal(hash, ida.Photos.GetValueOrDefault("Hal"));
        }

        await DeliverAsHalAsync(801, avatar, removed: false);
        await WaitForPhotoAsync(avatar.Version);
        await DeliverAsHalAsync(802, null, removed: false); // nothing said: kept
        Assert.Equal(picture, (await ida.GetVcardAsync("Hal")).Photo);
        await DeliverAsHalAsync(803, null, removed: true);
        await WaitForPhotoAsync("");
        Assert.Null((await ida.GetVcardAsync("Hal")).Photo);

        // Ida removes hers: her next message says so.
        await ida.RemoveAvatarAsync();
        await ida.SayConfirmedAsync("without a picture");
        var sender = (await bridge.Sink.WaitForAsync(e => e.Text == "without a picture", 1, Wait))[0].Sender;
        Assert.Null(sender.Avatar);
        Assert.True(sender.AvatarRemoved);
    }

    [Fact]
    public async Task A_reference_to_a_room_that_is_not_configured_is_never_asked()
    {
        var room = _server.NewRoom("avatars-other");
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var source = (IMediaSource)bridge.Connector;
        var e = await Assert.ThrowsAsync<MediaUnavailableException>(() =>
            source.OpenMediaAsync($"vcard:{new string('a', 40)}:elsewhere@conference.example.org/Someone", CancellationToken.None));
        Assert.Equal(MediaFailure.NotFetchable, e.Failure);
    }
}
