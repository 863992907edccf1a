using System.Net;
using Bridge.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// The store's disk fills (a real tmpfs filled to the last byte): the daemon stays up, acknowledges and delivers
/// nothing new, says why on /healthz, and once space returns delivers everything that waited, once each, in order.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class DiskFullTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    [SmallDiskFact]
    public async Task A_full_store_disk_holds_every_message_and_delivers_them_once_in_order_when_space_returns()
    {
        using var disk = await SmallDisk.MountAsync(megabytes: 8);
        var port = FreePorts.Next();
        await using var orgs = await TwoOrganisations.StartAsync(async () => await ProsodyServer.StartAsync("a.localhost"),
            async () => await ProsodyServer.StartAsync("b.localhost"), c => c.Raw($"admin:\n  listen: http://127.0.0.1:{port}"),
            output, databasePath: disk.File("bridge.db"));
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        await XmppConversation.WarmUpAsync(alice, bob);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        Assert.Equal("ok", (await http.GetStringAsync("/healthz")).Trim());

        var filled = disk.Fill();
        output.WriteLine($"filler took {filled} bytes; {disk.Available} bytes left");
        const int Count = 10;
        for (var i = 0; i < Count; i++)
        {
            await alice.SayAsync($"full-{i}");
        }

        // The operator is told why, and nothing crossed: none of it was durable, so none of it was acknowledged.
        var health = await WaitForHealthAsync(http, h => h.Status == HttpStatusCode.ServiceUnavailable && h.Body.Contains("store: disk full", StringComparison.Ordinal));
        output.WriteLine("/healthz while full: " + health.Body.Trim());
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.DoesNotContain(bob.Messages, m => m.Body.StartsWith("full-", StringComparison.Ordinal));
        Assert.False(bridge.HasExited, "the daemon must stay up while its disk is full");

        disk.Free();
        await bob.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith("full-", StringComparison.Ordinal)) >= Count, Long, "every message that waited");
        await Task.Delay(TimeSpan.FromSeconds(2)); // a doubled message would arrive by now
        XmppConversation.AssertExactlyInOrder(bob.Messages, "full-", "Alice");
        Assert.Equal(Count, bob.Messages.Count(m => m.Body.StartsWith("full-", StringComparison.Ordinal)));
        await WaitForHealthAsync(http, h => h.Status == HttpStatusCode.OK);

        // Said once at error level, not once per retry.
        var errors = bridge.Output.Split('\n').Count(l => l.Contains("store: disk full: nothing new is acknowledged", StringComparison.Ordinal));
        Assert.Equal(1, errors);
        Assert.Contains("Store writable again", bridge.Output, StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Status, string Body)> WaitForHealthAsync(HttpClient http, Func<(HttpStatusCode Status, string Body), bool> condition)
    {
        var deadline = DateTime.UtcNow + Long;
        (HttpStatusCode, string) last = default;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.GetAsync("/healthz");
            last = (response.StatusCode, await response.Content.ReadAsStringAsync());
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"/healthz never matched; last: {last.Item1} {last.Item2}");
    }
}

/// <summary>A fact that needs a <see cref="SmallDisk"/>: skipped, with the reason, where no tmpfs can be mounted.</summary>
public sealed class SmallDiskFactAttribute : FactAttribute
{
    public SmallDiskFactAttribute()
    {
        if (SmallDisk.WhyNot is { } why)
        {
            Skip = why;
        }
    }
}
