using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Sandbox.Mattermost.Tests;

/// <summary>
/// <c>POST/GET /api/v4/users/{user_id}/image</c> as the real server answers them (API reference "Set user's profile
/// image"): only the user or edit_other_users sets a picture, an upload that is not an image is 400, the picture is served
/// back and <c>last_picture_update</c> moves.
/// </summary>
public sealed class ProfileImageTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0];

    [Fact]
    public async Task A_user_sets_their_own_picture_and_everyone_reads_it_back()
    {
        await using var s = await TestServer.StartAsync();
        var (erin, erinToken) = s.AddMember("erin");
        var (_, otherToken) = s.AddMember("frank");
        Assert.Equal(0, s.Sandbox.GetUser(erin.Id).LastPictureUpdate);

        using (var set = await UploadAsync(s, erin.Id, erinToken, Png, "image/png"))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }
        var first = s.Sandbox.GetUser(erin.Id).LastPictureUpdate;
        Assert.NotEqual(0, first);
        var (read, _) = await s.SendAsync(HttpMethod.Get, $"/api/v4/users/{erin.Id}/image", otherToken);
        Assert.Equal("image/png", read.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Png, await read.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, s.Sandbox.ProfileImageReads(erin.Id));

        using (await UploadAsync(s, erin.Id, erinToken, [0xFF, 0xD8, 0xFF, 0xE0, 1, 2], "image/jpeg"))
        {
        }
        Assert.True(s.Sandbox.GetUser(erin.Id).LastPictureUpdate > first);
        var (_, user) = await s.SendAsync(HttpMethod.Get, $"/api/v4/users/{erin.Id}", otherToken);
        Assert.Equal(s.Sandbox.GetUser(erin.Id).LastPictureUpdate, user!["last_picture_update"]!.GetValue<long>());
    }

    [Fact]
    public async Task Another_users_picture_is_403_unless_an_admin_and_a_non_image_is_400()
    {
        await using var s = await TestServer.StartAsync();
        var (erin, _) = s.AddMember("erin");
        var (_, frankToken) = s.AddMember("frank");

        using (var refused = await UploadAsync(s, erin.Id, frankToken, Png, "image/png"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
        Assert.Null(s.Sandbox.GetProfileImage(erin.Id));

        using (var notImage = await UploadAsync(s, erin.Id, s.Seed.AdminToken, "<svg xmlns='http://www.w3.org/2000/svg'/>"u8.ToArray(), "image/png"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, notImage.StatusCode);
            Assert.Equal("api.user.upload_profile_user.decode.app_error", JsonNode.Parse(await notImage.Content.ReadAsStringAsync())!["id"]!.GetValue<string>());
        }
        Assert.Null(s.Sandbox.GetProfileImage(erin.Id));

        using (var byAdmin = await UploadAsync(s, erin.Id, s.Seed.AdminToken, Png, "image/png"))
        {
            Assert.Equal(HttpStatusCode.OK, byAdmin.StatusCode);
        }
        Assert.Equal(Png, s.Sandbox.GetProfileImage(erin.Id));
    }

    private static async Task<HttpResponseMessage> UploadAsync(TestServer s, string userId, string token, byte[] data, string type)
    {
        var part = new ByteArrayContent(data);
        part.Headers.ContentType = new MediaTypeHeaderValue(type);
        using var form = new MultipartFormDataContent { { part, "image", "avatar" } };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v4/users/{userId}/image") { Content = form };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await s.Http.SendAsync(request);
    }
}
