
namespace Sandbox.Matrix.Tests;

/// <summary>The test-only fault switch: off by default, Synapse-shaped 500 and 429 while on, over by itself when its time is up.</summary>
public sealed class FaultSwitchTests
{
    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task Server_errors_then_a_rate_limit_with_retry_after_each_for_their_time_and_normal_answers_after()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var room = h.Sandbox.CreateRoom(alice.UserId);
        const string body = """{"msgtype":"m.text","body":"x"}""";
        Assert.Equal(200, (await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/f0", alice.AccessToken, body)).Status);

        h.Sandbox.FailWithServerErrors(TimeSpan.FromSeconds(30));
        var failed = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/f1", alice.AccessToken, body);
        Assert.Equal(500, failed.Status);
        Assert.Equal("M_UNKNOWN", failed.Body.Str("errcode"));
        Assert.Equal(1, h.Sandbox.FaultedRequests);

        h.Sandbox.RateLimitEverything(TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(2500));
        var limited = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/f2", alice.AccessToken, body);
        Assert.Equal(429, limited.Status);
        Assert.Equal("M_LIMIT_EXCEEDED", limited.Body.Str("errcode"));
        Assert.Equal(2500, limited.Body["retry_after_ms"]!.GetValue<long>());
        Assert.Equal(TimeSpan.FromSeconds(3), limited.Response.Headers.RetryAfter?.Delta);

        // A fault ends by itself when its time is up.
        h.Sandbox.RateLimitEverything(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1));
        await Task.Delay(400);
        Assert.Equal(200, (await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/f3", alice.AccessToken, body)).Status);

        h.Sandbox.FailWithServerErrors(TimeSpan.FromMinutes(5));
        h.Sandbox.ClearFaults();
        Assert.Equal(200, (await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/f4", alice.AccessToken, body)).Status);
    }
}
