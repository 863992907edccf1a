using Bridge.Core.Connectors;
using Bridge.Core.Media;
using Bridge.Core.Profiles;
using Bridge.Matrix.Tests.Support;

namespace Bridge.Matrix.Tests;

/// <summary>
/// Pictures on Matrix: a person's is the mxc of their member event (a change seen there), read with authenticated
/// media; a puppet's is uploaded as the puppet and set as its avatar_url once per version.
/// </summary>
public sealed class AvatarTests
{
    private static readonly byte[] Gif = [(byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'9', (byte)'a', 1, 0, 1, 0, 0, 0, 0, 0x3B];

    [Fact]
    public async Task A_member_events_picture_is_named_by_its_mxc_and_a_puppets_is_set_once_per_version()
    {
        await using var h = await BridgeHarness.StartAsync();
        var first = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "no picture yet");
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == first));
        Assert.Null(h.Sink.Accepted.Single(e => e.NativeId == first).Sender.Avatar);

        var mxc = h.Sandbox.UploadMedia(Gif, "image/gif", "me.gif");
        h.Sandbox.SetAvatarUrl(h.Alice.UserId, mxc);
        var second = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "with a picture");
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == second));
        var avatar = h.Sink.Accepted.Single(e => e.NativeId == second).Sender.Avatar;
        Assert.Equal(new AvatarRef(new MediaSource(BridgeHarness.Network, mxc), mxc), avatar);

        // A remote person (Carol) with that picture: her puppet's avatar is a new upload of the same bytes, set once.
        var request = h.Request(91, "hello");
        request = request with { Event = request.Event with { Sender = request.Event.Sender with { Avatar = avatar } } };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None));
        var puppetAvatar = h.Sandbox.GetProfile(BridgeHarness.CarolPuppet)["avatar_url"]?.GetValue<string>();
        Assert.NotNull(puppetAvatar);
        Assert.NotEqual(mxc, puppetAvatar);
        Assert.Equal(Gif, h.Sandbox.GetMedia(puppetAvatar)!.Value.Data);
        var again = h.Request(92, "hello again");
        again = again with { Event = again.Event with { Sender = again.Event.Sender with { Avatar = avatar } } };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(again, CancellationToken.None));
        Assert.Equal(puppetAvatar, h.Sandbox.GetProfile(BridgeHarness.CarolPuppet)["avatar_url"]?.GetValue<string>());
        Assert.Equal(1, h.Sandbox.MediaDownloads(mxc));
    }

    [Fact]
    public async Task A_removed_picture_is_said_by_the_member_event_and_taken_off_the_puppet()
    {
        await using var h = await BridgeHarness.StartAsync();
        var mxc = h.Sandbox.UploadMedia(Gif, "image/gif", "me.gif");
        h.Sandbox.SetAvatarUrl(h.Alice.UserId, mxc);
        var with = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "with a picture");
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == with));
        var avatar = h.Sink.Accepted.Single(e => e.NativeId == with).Sender.Avatar;
        Assert.NotNull(avatar);
        Assert.False(h.Sink.Accepted.Single(e => e.NativeId == with).Sender.AvatarRemoved);

        // Carol's puppet gets the picture, then Carol removes hers: the puppet's avatar_url is emptied.
        async Task DeliverAsCarolAsync(long id, AvatarRef? picture, bool removed)
        {
            var request = h.Request(id, $"message {id}");
            request = request with { Event = request.Event with { Sender = request.Event.Sender with { Avatar = picture, AvatarRemoved = removed } } };
            Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None));
        }
        string? PuppetAvatar() => h.Sandbox.GetProfile(BridgeHarness.CarolPuppet)["avatar_url"]?.GetValue<string>();

        await DeliverAsCarolAsync(101, avatar, removed: false);
        Assert.False(string.IsNullOrEmpty(PuppetAvatar()));
        await DeliverAsCarolAsync(102, null, removed: false); // nothing said: kept
        Assert.False(string.IsNullOrEmpty(PuppetAvatar()));
        await DeliverAsCarolAsync(103, null, removed: true);
        Assert.True(string.IsNullOrEmpty(PuppetAvatar()));

        // Alice removes hers: her next message says so.
        h.Sandbox.SetAvatarUrl(h.Alice.UserId, "");
        var without = h.Sandbox.SendMessage(h.RoomId, h.Alice.UserId, "without a picture");
        await BridgeHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.NativeId == without));
        var sender = h.Sink.Accepted.Single(e => e.NativeId == without).Sender;
        Assert.Null(sender.Avatar);
        Assert.True(sender.AvatarRemoved);
    }
}
