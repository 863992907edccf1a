using System.Security.Cryptography;
using Bridge.Testing;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// People's pictures across the real daemon, each through its network's media path (docs/capabilities.md, "Profiles"):
/// a Mattermost picture (read with the bridge's token) becomes the Matrix puppet's avatar, a Matrix avatar (mxc, read with
/// authenticated media) the Mattermost puppet's picture, byte-exact; a new picture crosses once; a picture that cannot be
/// read is asked for once however many messages follow.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class AvatarsEndToEndTests
{
    private static readonly TimeSpan Long = ThreeNetworks.Long;

    [Fact]
    public async Task Pictures_cross_byte_exact_once_per_change_a_missing_one_is_asked_for_once_and_a_removal_follows()
    {
        await using var net = await ThreeNetworks.StartAsync();
        var carolPicture = Png(64, 64, 3000);
        net.Mm.SetProfileImage(net.Carol!.Id, carolPicture);
        var bobPicture = Jpeg(4000);
        net.Hs.SetAvatarUrl(net.Bob!.UserId, net.Hs.UploadMedia(bobPicture, "image/jpeg", "bob.jpg"));
        await net.StartBridgeAsync();
        await using var alice = await net.AliceAsync();
        var alicePicture = Png(32, 32, 2000);
        await alice.SetAvatarAsync(alicePicture, "image/png");

        // XMPP → Matrix and Mattermost: Alice's vCard photo (XEP-0153), read through the room from her server.
        await alice.SayConfirmedAsync("av-0 from alice");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("av-0").Count == 1 && net.MattermostPosts("av-0").Count == 1, Long, "Alice's message");
        var alicePuppetMatrix = net.MatrixMessages("av-0")[0].Sender;
        var alicePuppetMm = net.MattermostPosts("av-0")[0].UserId;
        await ThreeNetworks.WaitUntilAsync(() => MatrixAvatar(net, alicePuppetMatrix) is not null && net.Mm.GetProfileImage(alicePuppetMm) is not null,
            Long, "Alice's puppets' pictures");
        Assert.Equal(Sha(alicePicture), Sha(MatrixAvatar(net, alicePuppetMatrix)!));
        Assert.Equal(Sha(alicePicture), Sha(net.Mm.GetProfileImage(alicePuppetMm)!));

        // Mattermost → Matrix: Carol's puppet carries her picture.
        net.CarolSays("av-1 from carol");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("av-1").Count == 1, Long, "Carol's message on Matrix");
        var carolPuppet = net.MatrixMessages("av-1")[0].Sender;
        await ThreeNetworks.WaitUntilAsync(() => MatrixAvatar(net, carolPuppet) is not null, Long, "Carol's puppet's avatar on Matrix");
        Assert.Equal(Sha(carolPicture), Sha(MatrixAvatar(net, carolPuppet)!));

        // Matrix → Mattermost: Bob's puppet carries his picture.
        net.BobSays("av-2 from bob");
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("av-2").Count == 1, Long, "Bob's message on Mattermost");
        var bobPuppet = net.MattermostPosts("av-2")[0].UserId;
        Assert.NotEqual(net.Carol.Id, bobPuppet);
        await ThreeNetworks.WaitUntilAsync(() => net.Mm.GetProfileImage(bobPuppet) is not null, Long, "Bob's puppet's picture on Mattermost");
        Assert.Equal(Sha(bobPicture), Sha(net.Mm.GetProfileImage(bobPuppet)!));

        // On XMPP: Carol's and Bob's puppets advertise their pictures' SHA-1 and serve them in their vCards.
        await ThreeNetworks.WaitUntilAsync(() => alice.Messages.Any(m => m.Body.StartsWith("av-1", StringComparison.Ordinal))
            && alice.Messages.Any(m => m.Body.StartsWith("av-2", StringComparison.Ordinal)), Long, "Carol's and Bob's messages on XMPP");
        foreach (var (prefix, picture) in new[] { ("av-1", carolPicture), ("av-2", bobPicture) })
        {
            var nick = alice.Messages.First(m => m.Body.StartsWith(prefix, StringComparison.Ordinal)).FromNick;
            await ThreeNetworks.WaitUntilAsync(() => alice.Photos.GetValueOrDefault(nick) == Sha1(picture), Long, $"the photo hash of {nick}");
            var vcard = await alice.GetVcardAsync(nick);
            Assert.Equal(Sha(picture), Sha(vcard.Photo!));
        }

        // More messages: the pictures are not read again (one read of Carol's for every destination).
        for (var i = 0; i < 3; i++)
        {
            net.CarolSays($"av-3 carol again {i}");
            net.BobSays($"av-4 bob again {i}");
        }
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("av-3").Count == 3 && net.MattermostPosts("av-4").Count == 3
            && alice.Messages.Count(m => m.Body.StartsWith("av-3", StringComparison.Ordinal)) == 3, Long, "the further messages");
        Assert.Equal(1, net.Mm.ProfileImageReads(net.Carol.Id));
        Assert.Equal(1, net.Hs.MediaDownloads(MatrixProfileAvatar(net, net.Bob.UserId)!));

        // A new picture crosses once, and replaces the old one.
        var carolNew = Png(48, 48, 2500);
        net.Mm.SetProfileImage(net.Carol.Id, carolNew);
        net.CarolSays("av-5 carol with a new picture");
        await ThreeNetworks.WaitUntilAsync(() => MatrixAvatar(net, carolPuppet) is { } now && Sha(now) == Sha(carolNew), Long, "Carol's new picture on Matrix");
        net.CarolSays("av-6 carol once more");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("av-6").Count == 1 && alice.Messages.Any(m => m.Body.StartsWith("av-6", StringComparison.Ordinal)),
            Long, "the last message");
        Assert.Equal(2, net.Mm.ProfileImageReads(net.Carol.Id));

        // A picture the homeserver does not have: every message crosses, the picture is asked for once.
        var missing = $"mxc://{net.Hs.ServerName}/NoSuchMediaHere";
        net.Hs.SetAvatarUrl(net.Bob.UserId, missing);
        for (var i = 0; i < 4; i++)
        {
            net.BobSays($"av-7 bob without a picture {i}");
        }
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("av-7").Count == 4 && alice.Messages.Count(m => m.Body.StartsWith("av-7", StringComparison.Ordinal)) == 4,
            Long, "Bob's messages after the broken picture");
        Assert.Equal(1, net.Hs.MediaDownloads(missing));
        Assert.Equal(Sha(bobPicture), Sha(net.Mm.GetProfileImage(bobPuppet)!)); // the last good picture stays

        // Removed pictures follow too, from each network to both others, with the person's next message.
        var carolNick = alice.Messages.First(m => m.Body.StartsWith("av-1", StringComparison.Ordinal)).FromNick;
        var bobNick = alice.Messages.First(m => m.Body.StartsWith("av-2", StringComparison.Ordinal)).FromNick;
        net.Mm.ResetProfileImage(net.Carol.Id);
        await Task.Delay(500); // user_updated reaches the bridge's user cache
        net.CarolSays("av-8 carol without a picture");
        await ThreeNetworks.WaitUntilAsync(() => MatrixAvatar(net, carolPuppet) is null && alice.Photos.GetValueOrDefault(carolNick) == "", Long,
            "Carol's puppets without a picture");
        Assert.Null((await alice.GetVcardAsync(carolNick)).Photo);

        net.Hs.SetAvatarUrl(net.Bob.UserId, "");
        net.BobSays("av-9 bob without a picture");
        await ThreeNetworks.WaitUntilAsync(() => net.Mm.GetProfileImage(bobPuppet) is null && alice.Photos.GetValueOrDefault(bobNick) == "", Long,
            "Bob's puppets without a picture");

        await alice.RemoveAvatarAsync();
        await alice.SayConfirmedAsync("av-10 from alice without a picture");
        await ThreeNetworks.WaitUntilAsync(() => MatrixAvatar(net, alicePuppetMatrix) is null && net.Mm.GetProfileImage(alicePuppetMm) is null, Long,
            "Alice's puppets without a picture");
    }

    private static string? MatrixProfileAvatar(ThreeNetworks net, string userId) => net.Hs.GetProfile(userId)["avatar_url"]?.GetValue<string>();

    private static byte[]? MatrixAvatar(ThreeNetworks net, string userId) =>
        MatrixProfileAvatar(net, userId) is { } mxc && net.Hs.GetMedia(mxc) is { } media ? media.Data : null;

    private static string Sha(byte[] data) => Convert.ToHexString(SHA256.HashData(data));

    private static string Sha1(byte[] data) => Convert.ToHexStringLower(SHA1.HashData(data));

    /// <summary>A PNG signature and IHDR of the given size, then random bytes (the servers read the header only).</summary>
    internal static byte[] Png(int width, int height, int length)
    {
        var data = RandomNumberGenerator.GetBytes(length);
        byte[] header = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R'];
        header.CopyTo(data, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(16), (uint)width);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(20), (uint)height);
        return data;
    }

    /// <summary>A JPEG start-of-image marker, then random bytes.</summary>
    internal static byte[] Jpeg(int length)
    {
        var data = RandomNumberGenerator.GetBytes(length);
        data[0] = 0xFF;
        data[1] = 0xD8;
        data[2] = 0xFF;
        return data;
    }
}
