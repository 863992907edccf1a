using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Bridge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Files across the three real networks through each one's media path (docs/matrix.md, docs/mattermost.md, docs/xmpp.md):
/// a Mattermost file (read with the bridge's token), Matrix media (authenticated download) and an XMPP upload (Prosody's
/// mod_http_file_share, XEP-0363 and XEP-0066) each arrive on the other two byte-exact with name and type; a file over a
/// destination's cap leaves a notice there and one for the sender; a link to any other host is never fetched.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class FilesEndToEndTests
{
    private static readonly TimeSpan Long = ThreeNetworks.Long;

    [Fact]
    public async Task Files_cross_every_network_byte_exact_and_only_configured_hosts_are_fetched()
    {
        var requestsElsewhere = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        await using var elsewhere = builder.Build();
        elsewhere.MapGet("/{**path}", () =>
        {
            Interlocked.Increment(ref requestsElsewhere);
            return Results.Bytes([1, 2, 3], "image/png");
        });
        await elsewhere.StartAsync();

        // A file host the XMPP network does list, serving one file the policy allows and one it strips.
        var served = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var allowedPdf = RandomNumberGenerator.GetBytes(3000);
        var listedBuilder = WebApplication.CreateSlimBuilder();
        listedBuilder.Logging.ClearProviders();
        listedBuilder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        await using var listed = listedBuilder.Build();
        listed.MapGet("/shared/{name}", (string name) =>
        {
            served.AddOrUpdate(name, 1, (_, n) => n + 1);
            return Results.Bytes(allowedPdf, "application/octet-stream");
        });
        await listed.StartAsync();
        var listedHost = new Uri(listed.Urls.First()).Authority;

        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions
        {
            XmppFileUpload = true,
            XmppExtraFileHosts = [listedHost],
            MattermostKeys = new Dictionary<string, string?> { ["maxAttachmentBytes"] = "30000" },
        }, b => b.Raw("""
            policy:
              defaults:
                content:
                  attachments: { types: ["image/*", "application/pdf", "application/octet-stream"], action: strip }
            """));
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        using var http = new HttpClient();
        var carolToken = net.Mm.CreateAccessToken(net.Carol!.Id);

        // Mattermost → Matrix, XMPP: Carol posts a PNG (320 × 200) with a line of text.
        var png = Png(320, 200, 5000);
        var carolFile = await MattermostUploadAsync(http, net, carolToken, "diagram.png", "image/png", png);
        await MattermostPostAsync(http, net, carolToken, "file-1 the diagram", carolFile);

        // Matrix → Mattermost, XMPP: Bob sends an image with a caption (spec v1.10) and its dimensions.
        var jpeg = RandomNumberGenerator.GetBytes(7000);
        var bobMxc = await MatrixUploadAsync(http, net, "photo.jpg", "image/jpeg", jpeg);
        net.Hs.SendEvent(net.MatrixRoom, net.Bob!.UserId, "m.room.message", new JsonObject
        {
            ["msgtype"] = "m.image",
            ["body"] = "file-2 the harbour",
            ["filename"] = "photo.jpg",
            ["url"] = bobMxc,
            ["info"] = new JsonObject { ["mimetype"] = "image/jpeg", ["size"] = jpeg.Length, ["w"] = 640, ["h"] = 480 },
        });

        // XMPP → Matrix, Mattermost: Alice uploads as her client does and shares the URL; then one file too large for
        // Mattermost's cap, then a link to a host the bridge is not configured for.
        var notes = RandomNumberGenerator.GetBytes(9000);
        var notesUrl = await alice.UploadAsync(net.Xmpp.UploadDomain, "notes.pdf", "application/pdf", notes);
        await alice.ShareFileAsync(notesUrl);
        var big = RandomNumberGenerator.GetBytes(40_000);
        var bigUrl = await alice.UploadAsync(net.Xmpp.UploadDomain, "big.bin", "application/octet-stream", big);
        await alice.ShareFileAsync(bigUrl);
        var elsewhereUrl = elsewhere.Urls.First() + "/internal/cat.png";
        await alice.ShareFileAsync(elsewhereUrl);
        // The policy strips a zip before any destination reads it; the PDF beside it on the same host is read.
        await alice.ShareFileAsync($"http://{listedHost}/shared/policy.zip");
        await alice.ShareFileAsync($"http://{listedHost}/shared/allowed.pdf");

        // On Matrix: Carol's and Alice's files as media events of their own upload, byte-exact, name, type and dimensions kept.
        JsonObject? MatrixMedia(string filename) => net.Hs.GetMessages(net.MatrixRoom).Select(e => e["content"] as JsonObject)
            .FirstOrDefault(c => c?["filename"]?.GetValue<string>() == filename && c["url"] is not null);
        await ThreeNetworks.WaitUntilAsync(() => MatrixMedia("diagram.png") is not null && MatrixMedia("notes.pdf") is not null && MatrixMedia("big.bin") is not null,
            Long, "the files on Matrix");
        var diagram = MatrixMedia("diagram.png")!;
        Assert.Equal("m.image", diagram["msgtype"]!.GetValue<string>());
        Assert.Equal("file-1 the diagram", diagram["body"]!.GetValue<string>()); // the post's text as caption
        Assert.Equal(("image/png", 320, 200), (diagram["info"]!["mimetype"]!.GetValue<string>(), diagram["info"]!["w"]!.GetValue<int>(), diagram["info"]!["h"]!.GetValue<int>()));
        Assert.Equal(Sha(png), Sha(await MatrixDownloadAsync(http, net, diagram["url"]!.GetValue<string>())));
        var pdf = MatrixMedia("notes.pdf")!;
        Assert.Equal(("m.file", "application/pdf"), (pdf["msgtype"]!.GetValue<string>(), pdf["info"]!["mimetype"]!.GetValue<string>()));
        Assert.Equal(Sha(notes), Sha(await MatrixDownloadAsync(http, net, pdf["url"]!.GetValue<string>())));
        Assert.Equal(Sha(big), Sha(await MatrixDownloadAsync(http, net, MatrixMedia("big.bin")!["url"]!.GetValue<string>())));
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("cat.png: ").Count == 1, Long, "the outside link on Matrix");

        // On Mattermost: Bob's and Alice's files uploaded by their puppets, byte-exact; the big one as a notice.
        SandboxFile? MattermostFile(string name) => net.Mm.GetPosts(net.MmChannel).Where(p => p.UserId != net.Carol.Id)
            .SelectMany(p => p.FileIds.Select(id => new SandboxFile(p, id))).FirstOrDefault(f => FileName(http, net, carolToken, f.Id) == name);
        await ThreeNetworks.WaitUntilAsync(() => MattermostFile("photo.jpg") is not null && MattermostFile("notes.pdf") is not null, Long, "the files on Mattermost");
        var photo = MattermostFile("photo.jpg")!;
        Assert.Equal("file-2 the harbour", photo.Post.Message);
        var photoInfo = await MattermostJsonAsync(http, net, carolToken, $"/api/v4/files/{photo.Id}/info");
        Assert.Equal("image/jpeg", photoInfo["mime_type"]!.GetValue<string>());
        Assert.Equal(Sha(jpeg), Sha(await MattermostDownloadAsync(http, net, carolToken, photo.Id)));
        Assert.Equal(Sha(notes), Sha(await MattermostDownloadAsync(http, net, carolToken, MattermostFile("notes.pdf")!.Id)));
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("[file \"big.bin\"").Count == 1 && net.MattermostPosts("cat.png: ").Count == 1, Long,
            "the notice and the outside link on Mattermost");
        Assert.Equal("[file \"big.bin\" not delivered: larger than the 29.3 KB limit here]", net.MattermostPosts("[file \"big.bin\"")[0].Message);
        Assert.Empty(net.MattermostPosts("[file \"big.bin\"")[0].FileIds);
        Assert.Equal($"cat.png: {elsewhereUrl}", net.MattermostPosts("cat.png: ")[0].Message);
        var notice = await alice.WaitForPrivateAsync(ps => ps.Any(p => p.Body.Contains("big.bin", StringComparison.Ordinal)), Long, "Alice's notice");
        Assert.Equal("Your file \"big.bin\" was not delivered to network 'mm': it is larger than its 29.3 KB limit.", notice.Single(p => p.Body.Contains("big.bin", StringComparison.Ordinal)).Body);

        // On XMPP: Carol's and Bob's files uploaded through a slot of their puppets, shared with XEP-0066, byte-exact.
        var got = await alice.WaitForAsync(ms => ms.Count(m => m.Oob is { Count: > 0 }) >= 2, Long, "the files on XMPP");
        var fromCarol = got.First(m => m.Body.StartsWith("file-1", StringComparison.Ordinal));
        var fromBob = got.First(m => m.Body.StartsWith("file-2", StringComparison.Ordinal));
        foreach (var (message, bytes) in new[] { (fromCarol, png), (fromBob, jpeg) })
        {
            var url = Assert.Single(message.Oob!);
            Assert.StartsWith($"http://{net.Xmpp.UploadHost}/", url, StringComparison.Ordinal);
            Assert.EndsWith(url, message.Body, StringComparison.Ordinal);
            Assert.Equal(Sha(bytes), Sha(await http.GetByteArrayAsync(url)));
        }
        Assert.EndsWith("/diagram.png", fromCarol.Oob![0], StringComparison.Ordinal);
        Assert.EndsWith("/photo.jpg", fromBob.Oob![0], StringComparison.Ordinal);

        // The policy's attachment rules came first: the stripped zip was never read, for any network; the PDF was.
        await ThreeNetworks.WaitUntilAsync(() => MatrixMedia("allowed.pdf") is not null && MattermostFile("allowed.pdf") is not null, Long, "the allowed PDF on Matrix and Mattermost");
        Assert.Equal(Sha(allowedPdf), Sha(await MatrixDownloadAsync(http, net, MatrixMedia("allowed.pdf")!["url"]!.GetValue<string>())));
        Assert.False(served.ContainsKey("policy.zip"));
        Assert.Null(MatrixMedia("policy.zip"));
        Assert.DoesNotContain(net.Hs.GetMessages(net.MatrixRoom), e => e["sender"]!.GetValue<string>() != net.Bob!.UserId && (e["content"] as JsonObject)?["body"]?.GetValue<string>() is "");
        Assert.DoesNotContain(net.Mm.GetPosts(net.MmChannel), p => !p.IsSystem && p.Message.Length == 0 && p.FileIds.Count == 0);
        Assert.Equal(2, served["allowed.pdf"]); // once per destination that got it

        // No server address of Mattermost or Matrix anywhere, and the outside host was never asked.
        Assert.DoesNotContain(net.Hs.GetMessages(net.MatrixRoom), e => e.ToJsonString().Contains("/api/v4/files", StringComparison.Ordinal));
        Assert.DoesNotContain(alice.Messages, m => m.Body.Contains("/api/v4/", StringComparison.Ordinal) || m.Body.Contains("/_matrix/", StringComparison.Ordinal));
        Assert.Equal(0, Volatile.Read(ref requestsElsewhere));
    }

    private sealed record SandboxFile(Sandbox.Mattermost.SandboxPost Post, string Id);

    private static string Sha(byte[] data) => Convert.ToHexString(SHA256.HashData(data));

    /// <summary>A PNG signature and IHDR of the given size, then random bytes (the servers read the header only).</summary>
    private static byte[] Png(int width, int height, int length)
    {
        var data = RandomNumberGenerator.GetBytes(length);
        byte[] header = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R'];
        header.CopyTo(data, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(16), (uint)width);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(20), (uint)height);
        return data;
    }

    private static string? FileName(HttpClient http, ThreeNetworks net, string token, string fileId) =>
        MattermostJsonAsync(http, net, token, $"/api/v4/files/{fileId}/info").GetAwaiter().GetResult()["name"]?.GetValue<string>();

    private static async Task<string> MattermostUploadAsync(HttpClient http, ThreeNetworks net, string token, string name, string type, byte[] data)
    {
        using var form = new MultipartFormDataContent { { new StringContent(net.MmChannel), "channel_id" } };
        var part = new ByteArrayContent(data);
        part.Headers.ContentType = new MediaTypeHeaderValue(type);
        form.Add(part, "files", name);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(net.Mm.BaseUrl, "/api/v4/files")) { Content = form };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["file_infos"]![0]!["id"]!.GetValue<string>();
    }

    private static async Task MattermostPostAsync(HttpClient http, ThreeNetworks net, string token, string message, string fileId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(net.Mm.BaseUrl, "/api/v4/posts"))
        {
            Content = new StringContent(new JsonObject { ["channel_id"] = net.MmChannel, ["message"] = message, ["file_ids"] = new JsonArray(fileId) }.ToJsonString(),
                System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    private static async Task<JsonObject> MattermostJsonAsync(HttpClient http, ThreeNetworks net, string token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(net.Mm.BaseUrl, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static async Task<byte[]> MattermostDownloadAsync(HttpClient http, ThreeNetworks net, string token, string fileId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(net.Mm.BaseUrl, $"/api/v4/files/{fileId}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }

    private static async Task<string> MatrixUploadAsync(HttpClient http, ThreeNetworks net, string name, string type, byte[] data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(net.Hs.BaseUrl, "/_matrix/media/v3/upload?filename=" + name)) { Content = new ByteArrayContent(data) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", net.Bob!.AccessToken);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(type);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["content_uri"]!.GetValue<string>();
    }

    private static async Task<byte[]> MatrixDownloadAsync(HttpClient http, ThreeNetworks net, string mxc)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(net.Hs.BaseUrl, "/_matrix/client/v1/media/download/" + mxc["mxc://".Length..]));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", net.Bob!.AccessToken);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }
}
