using Bridge.Core.Profiles;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Mattermost.Tests;

/// <summary>
/// Pictures on Mattermost: a person's is named by <c>last_picture_update</c> and read with the bridge's token from this
/// server; a puppet's is uploaded with <c>POST /users/{id}/image</c> once per version, and not at all when the bytes are
/// the ones it already has.
/// </summary>
public sealed class AvatarTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 2, 0, 0, 0, 2, 8, 6, 0, 0, 0, 7, 7];

    [Fact]
    public async Task A_persons_picture_is_read_with_the_bridge_token_and_a_puppets_is_set_once_per_version()
    {
        await using var h = await MmHarness.StartAsync();
        var vera = h.Sandbox.CreateUser("vera");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, vera.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, vera.Id);

        // No picture of her own (the server's drawn default): nothing to cross.
        h.Sandbox.Post(vera.Id, h.Seed.Channel.Id, "before a picture");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(m => m.Text == "before a picture"), "the first post");
        Assert.Null(h.Sink.Messages.Single(m => m.Text == "before a picture").Sender.Avatar);

        h.Sandbox.SetProfileImage(vera.Id, Png);
        await Task.Delay(300); // user_updated reaches the connector's user cache
        h.Sandbox.Post(vera.Id, h.Seed.Channel.Id, "with a picture");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(m => m.Text == "with a picture"), "the second post");
        var avatar = h.Sink.Messages.Single(m => m.Text == "with a picture").Sender.Avatar;
        Assert.NotNull(avatar);
        Assert.Equal(h.Sandbox.GetUser(vera.Id).LastPictureUpdate.ToString(System.Globalization.CultureInfo.InvariantCulture), avatar.Version);
        Assert.DoesNotContain(h.Sandbox.BaseUrl.Authority, avatar.Source.Reference, StringComparison.Ordinal); // never the server's address

        // A remote person with that picture: their puppet gets it, uploaded once however many messages follow.
        var remote = MmHarness.Person("Rémi Remote", "@remi:example.org") with { Avatar = avatar };
        var first = await h.DeliverTextAsync("one", remote);
        var puppet = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == first).UserId;
        Assert.Equal(Png, h.Sandbox.GetProfileImage(puppet));
        var setAt = h.Sandbox.GetUser(puppet).LastPictureUpdate;
        await h.DeliverTextAsync("two", remote);
        await h.DeliverTextAsync("three", remote);
        Assert.Equal(setAt, h.Sandbox.GetUser(puppet).LastPictureUpdate);
        Assert.Equal(1, h.Sandbox.ProfileImageReads(vera.Id));

        // A new version with the same bytes: read once more, not uploaded again.
        var sameBytes = avatar with { Version = avatar.Version + "1" };
        await h.DeliverTextAsync("four", remote with { Avatar = sameBytes });
        Assert.Equal(2, h.Sandbox.ProfileImageReads(vera.Id));
        Assert.Equal(setAt, h.Sandbox.GetUser(puppet).LastPictureUpdate);

        // Read through the core's media path directly: the same bytes, and a reference to another user id form is refused.
        var reader = new AvatarReader(new Bridge.Core.Media.MediaReader(h.Registry, NullLogger.Instance), TimeProvider.System, NullLogger.Instance);
        Assert.Equal(Png, (await reader.ReadAsync(avatar, CancellationToken.None))?.Bytes);
        Assert.Null(await reader.ReadAsync(avatar with { Source = avatar.Source with { Reference = "avatar:../../files/x" } }, CancellationToken.None));
    }

    [Fact]
    public async Task A_removed_picture_is_said_by_the_source_and_taken_off_the_puppet_once()
    {
        await using var h = await MmHarness.StartAsync();
        var vera = h.Sandbox.CreateUser("vera");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, vera.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, vera.Id);
        h.Sandbox.SetProfileImage(vera.Id, Png);
        await Task.Delay(300); // user_updated reaches the connector's user cache
        h.Sandbox.Post(vera.Id, h.Seed.Channel.Id, "with a picture");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(m => m.Text == "with a picture"), "the post with a picture");
        var withPicture = h.Sink.Messages.Single(m => m.Text == "with a picture").Sender;
        Assert.NotNull(withPicture.Avatar);
        Assert.False(withPicture.AvatarRemoved);

        // A remote person's puppet with a picture, then that person removes theirs: the puppet goes back to the drawn one.
        var remote = MmHarness.Person("Rémi Remote", "@remi:example.org") with { Avatar = withPicture.Avatar };
        var first = await h.DeliverTextAsync("one", remote);
        var puppet = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == first).UserId;
        Assert.Equal(Png, h.Sandbox.GetProfileImage(puppet));

        await h.DeliverTextAsync("two", remote with { Avatar = null, AvatarRemoved = true });
        Assert.Null(h.Sandbox.GetProfileImage(puppet));
        Assert.True(h.Sandbox.GetUser(puppet).LastPictureUpdate < 0); // minus the time, as current servers write it
        int Removals() => h.Logs.Entries.Count(e => e.Message.Contains("removed, as its person removed theirs", StringComparison.Ordinal));
        Assert.Equal(1, Removals());

        // Said again, or nothing said at all: no further request, and "nothing said" never removes anything.
        await h.DeliverTextAsync("three", remote with { Avatar = null, AvatarRemoved = true });
        Assert.Equal(1, Removals());
        await h.DeliverTextAsync("four", remote with { Avatar = withPicture.Avatar });
        Assert.Equal(Png, h.Sandbox.GetProfileImage(puppet));
        await h.DeliverTextAsync("five", remote with { Avatar = null, AvatarRemoved = false });
        Assert.Equal(Png, h.Sandbox.GetProfileImage(puppet));

        // Vera removes her picture (DELETE /users/{id}/image): her next post says so.
        h.Sandbox.ResetProfileImage(vera.Id);
        await MmHarness.WaitUntilAsync(() => h.Sandbox.GetUser(vera.Id).LastPictureUpdate < 0, "the reset");
        await Task.Delay(300);
        h.Sandbox.Post(vera.Id, h.Seed.Channel.Id, "without a picture");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(m => m.Text == "without a picture"), "the post without a picture");
        var without = h.Sink.Messages.Single(m => m.Text == "without a picture").Sender;
        Assert.Null(without.Avatar);
        Assert.True(without.AvatarRemoved);
    }
}
