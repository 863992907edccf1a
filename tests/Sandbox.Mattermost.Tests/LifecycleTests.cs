using System.Net;
using System.Net.Http;

namespace Sandbox.Mattermost.Tests;

public sealed class LifecycleTests
{
    [Fact]
    public async Task Stop_refuses_connections_and_restart_keeps_port_and_state()
    {
        await using var s = await TestServer.StartAsync();
        var port = s.Sandbox.Port;
        var post = s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "survives");
        var (ws, hello) = await RawWs.ConnectAuthenticatedAsync(s.Sandbox.WebSocketUrl, s.Seed.AdminToken);
        var connectionId = hello["data"].Str("connection_id");

        await s.Sandbox.StopAsync();
        Assert.Null(await ws.ReceiveAsync(2000));
        await ws.DisposeAsync();
        await Assert.ThrowsAsync<HttpRequestException>(() => s.SendAsync(HttpMethod.Get, "/api/v4/system/ping", null));

        await s.Sandbox.StartAsync();
        Assert.Equal(port, s.Sandbox.Port);
        var (resp, body) = await s.SendAsync(HttpMethod.Get, $"/api/v4/posts/{post.Id}", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("survives", body.Str("message"));

        // A restarted server knows no connection ids: new hello.
        var (again, hello2) = await RawWs.ConnectAuthenticatedAsync(new Uri(s.Sandbox.WebSocketUrl + $"?connection_id={connectionId}&sequence_number=1"), s.Seed.AdminToken);
        await using var _ = again;
        Assert.NotEqual(connectionId, hello2["data"].Str("connection_id"));
    }
}
