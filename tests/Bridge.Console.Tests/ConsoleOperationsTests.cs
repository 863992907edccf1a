using System.Net.Http.Headers;
using System.Net.Http.Json;
using Bridge.Testing;
using Bridge.Tests.EndToEnd;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Bridge.Console.Tests;

/// <summary>
/// An operator changes the running bridge from the console: adds a link in the page and sees a message cross, pauses
/// it and sees the next one wait in the outbox, resumes and sees it arrive; retries a dead letter once its cause is fixed.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleOperationsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = ThreeNetworks.Long;

    [Fact]
    public async Task A_link_added_in_the_page_carries_messages_holds_them_while_paused_and_delivers_them_on_resume()
    {
        var admin = new AdminTokens();
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { SecondXmpp = true, Matrix = false, Mattermost = false },
            b => b.Raw(admin.Yaml));
        var bridge = await net.StartBridgeAsync();
        await using var browser = await ConsoleBrowser.LaunchAsync();
        await using var alice = await XmppPerson.JoinAsync(net.Xmpp, "alice", "alicepass", net.Xmpp.Room("lab"), "Alice");
        await using var dave = await XmppPerson.JoinAsync(net.Xmpp2!, "dave", "davepass", net.Xmpp2!.Room("lab"), "Dave");
        try
        {
            var page = await browser.OpenAsync(admin.Url);
            await ConsoleSteps.SignInAsync(page, admin.Operator);
            await page.GetByRole(AriaRole.Link, new() { Name = "Links" }).ClickAsync();

            // Add the link in the page: two endpoints, one per organisation's XMPP server.
            await page.Locator("#link-id").FillAsync("lab");
            var rows = page.Locator("#endpoint-rows .endpoint-row");
            await rows.Nth(0).Locator("select").SelectOptionAsync("xmpp");
            await rows.Nth(0).Locator("input").FillAsync(net.Xmpp.Room("lab"));
            await rows.Nth(1).Locator("select").SelectOptionAsync("xmpp2");
            await rows.Nth(1).Locator("input").FillAsync(net.Xmpp2.Room("lab"));
            await page.GetByRole(AriaRole.Button, new() { Name = "Create link" }).ClickAsync();
            var link = page.Locator("tr[data-link='lab']");
            await Assertions.Expect(link.Locator("[data-field='state']")).ToHaveTextAsync("active");
            await Assertions.Expect(link).ToContainTextAsync("from api");
            await Assertions.Expect(link.Locator("[data-destination='xmpp2']")).ToContainTextAsync("delivers");
            await ConsoleBrowser.ScreenshotAsync(page, "links-added-desktop");

            // The bridge joined the new rooms live: the networks view counts them; then a message crosses.
            await page.GetByRole(AriaRole.Link, new() { Name = "Networks" }).ClickAsync();
            await Assertions.Expect(page.Locator("[data-network='xmpp'] [data-field='rooms']")).ToHaveTextAsync("2 / 2", new() { Timeout = 60_000 });
            await Assertions.Expect(page.Locator("[data-network='xmpp2'] [data-field='rooms']")).ToHaveTextAsync("2 / 2", new() { Timeout = 60_000 });
            await page.GetByRole(AriaRole.Link, new() { Name = "Links" }).ClickAsync();
            await alice.SayAsync("lab-1");
            await dave.WaitForAsync(ms => ms.Any(m => m.Body == "lab-1"), Long, "lab-1 on the second server");

            // Pause in the page: the next message waits in the outbox, and the networks view says so.
            await link.GetByRole(AriaRole.Button, new() { Name = "Pause" }).ClickAsync();
            await Assertions.Expect(link.Locator("[data-field='state']")).ToHaveTextAsync("paused");
            await alice.SayAsync("lab-2");
            await page.GetByRole(AriaRole.Link, new() { Name = "Networks" }).ClickAsync();
            await Assertions.Expect(page.Locator("[data-network='xmpp2'] [data-field='pending']")).ToHaveTextAsync("1");
            await ConsoleBrowser.ScreenshotAsync(page, "networks-paused-desktop");
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.DoesNotContain(dave.Messages, m => m.Body == "lab-2");

            // Resume: it arrives, once.
            await page.GetByRole(AriaRole.Link, new() { Name = "Links" }).ClickAsync();
            await link.GetByRole(AriaRole.Button, new() { Name = "Resume" }).ClickAsync();
            await Assertions.Expect(link.Locator("[data-field='state']")).ToHaveTextAsync("active");
            await dave.WaitForAsync(ms => ms.Any(m => m.Body == "lab-2"), Long, "lab-2 after resume");
            await page.GetByRole(AriaRole.Link, new() { Name = "Networks" }).ClickAsync();
            await Assertions.Expect(page.Locator("[data-network='xmpp2'] [data-field='pending']")).ToHaveTextAsync("0");
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Single(dave.Messages, m => m.Body == "lab-2");

            // The audit view shows who changed the link.
            await page.GetByRole(AriaRole.Link, new() { Name = "Audit" }).ClickAsync();
            await page.Locator("#filter-link").SelectOptionAsync("lab");
            await Assertions.Expect(page.Locator("tr[data-audit]", new() { HasText = "link-resumed" }).First).ToContainTextAsync("ops-team");
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    [Fact]
    public async Task A_dead_letter_retried_in_the_page_is_delivered_once_its_cause_is_fixed()
    {
        var admin = new AdminTokens();
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { SecondXmpp = true, Matrix = false, Mattermost = false },
            b => b.Raw(admin.Yaml));
        var bridge = await net.StartBridgeAsync();
        await using var browser = await ConsoleBrowser.LaunchAsync();
        await using var alice = await XmppPerson.JoinAsync(net.Xmpp, "alice", "alicepass", net.Xmpp.Room("lab"), "Alice");
        await using var dave = await XmppPerson.JoinAsync(net.Xmpp2!, "dave", "davepass", net.Xmpp2!.Room("lab"), "Dave");
        using var api = new HttpClient { BaseAddress = admin.Url };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", admin.Operator);
        var daveRoom = net.Xmpp2.Room("lab");
        try
        {
            // Set up over the API: a link of three rooms that works, then is paused with a message held for the second server.
            (await api.PostAsJsonAsync("/api/links", new { id = "lab", endpoints = new[] { new { network = "xmpp", channel = net.Xmpp.Room("lab") }, new { network = "xmpp2", channel = daveRoom }, new { network = "xmpp", channel = net.Xmpp.Room("annex") } } }))
                .EnsureSuccessStatusCode();
            await WaitForRoomsJoinedAsync(api);
            await alice.SayAsync("lab-warm");
            await dave.WaitForAsync(ms => ms.Any(m => m.Body == "lab-warm"), Long, "a message across the new link");
            (await api.PostAsync("/api/links/lab/pause", null)).EnsureSuccessStatusCode();
            await alice.SayAsync("held-back");
            await ThreeNetworks.WaitForPendingAsync(net.DatabasePath, "xmpp2", 1);

            // The operator removes the wrong endpoint in the page: its pending row is dead-lettered, not lost.
            var page = await browser.OpenAsync(admin.Url);
            page.Dialog += async (_, dialog) => await dialog.AcceptAsync(); // "Remove …? Its pending deliveries are dead-lettered."
            await ConsoleSteps.SignInAsync(page, admin.Operator);
            await page.GetByRole(AriaRole.Link, new() { Name = "Links" }).ClickAsync();
            var labRow = page.Locator("tr[data-link='lab']");
            await Assertions.Expect(labRow.Locator("[data-endpoint]")).ToHaveCountAsync(3);
            await labRow.GetByRole(AriaRole.Button, new() { Name = "Remove xmpp2: " + daveRoom }).ClickAsync();
            await Assertions.Expect(labRow.Locator("[data-endpoint]")).ToHaveCountAsync(2);
            await Assertions.Expect(labRow.Locator($"[data-endpoint='xmpp2:{daveRoom}']")).ToHaveCountAsync(0);
            await page.GetByRole(AriaRole.Link, new() { Name = "Dead letters" }).ClickAsync();
            var dead = page.Locator("tr[data-dead-letter]");
            await Assertions.Expect(dead).ToHaveCountAsync(1);
            await Assertions.Expect(dead).ToContainTextAsync("xmpp2:" + daveRoom);
            await Assertions.Expect(dead).ToContainTextAsync("endpoint-removed");
            await Assertions.Expect(page.Locator("#dead-count")).ToHaveTextAsync("1");
            await ConsoleBrowser.ScreenshotAsync(page, "deadletters-desktop");

            var phone = await browser.OpenAsync(new Uri(admin.Url, "#deadletters"), ConsoleBrowser.Phone);
            await ConsoleSteps.SignInAsync(phone, admin.Viewer);
            await Assertions.Expect(phone.Locator("tr[data-dead-letter]")).ToHaveCountAsync(1);
            await ConsoleSteps.AssertFitsWidthAsync(phone);
            await ConsoleBrowser.ScreenshotAsync(phone, "deadletters-phone");

            // A viewer may not retry: the page says so and nothing changes.
            await phone.Locator("tr[data-dead-letter]").GetByRole(AriaRole.Button, new() { Name = "Retry" }).ClickAsync();
            await Assertions.Expect(phone.Locator("#toast")).ToContainTextAsync("Not allowed");

            // The endpoint is put back and the link resumed in the page; the operator retries and the message arrives, once.
            await page.GetByRole(AriaRole.Link, new() { Name = "Links" }).ClickAsync();
            await labRow.Locator("details.add-endpoint summary").ClickAsync();
            await labRow.Locator("form.add-endpoint select").SelectOptionAsync("xmpp2");
            await labRow.Locator("form.add-endpoint input").FillAsync(daveRoom);
            await ConsoleBrowser.ScreenshotAsync(page, "links-add-room-desktop");
            await labRow.GetByRole(AriaRole.Button, new() { Name = "Add room" }).ClickAsync();
            await Assertions.Expect(labRow.Locator($"[data-endpoint='xmpp2:{daveRoom}']")).ToHaveCountAsync(1);
            var stored = await api.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>("/api/links/lab");
            Assert.Contains(stored!["endpoints"]!.AsArray(), e => (string?)e!["network"] == "xmpp2" && (string?)e["channel"] == daveRoom);
            await labRow.GetByRole(AriaRole.Button, new() { Name = "Resume" }).ClickAsync();
            await page.GetByRole(AriaRole.Link, new() { Name = "Dead letters" }).ClickAsync();
            await dead.GetByRole(AriaRole.Button, new() { Name = "Retry" }).ClickAsync();
            await dave.WaitForAsync(ms => ms.Any(m => m.Body == "held-back"), Long, "the retried message on the second server");
            await Assertions.Expect(page.Locator("tr[data-dead-letter]")).ToHaveCountAsync(0);
            await Assertions.Expect(page.Locator("#dead-count")).ToBeHiddenAsync();
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Single(dave.Messages, m => m.Body == "held-back");
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    /// <summary>Waits until the console's overview says the bridge sits in every linked room of every network.</summary>
    private static async Task WaitForRoomsJoinedAsync(HttpClient api)
    {
        var deadline = DateTime.UtcNow + Long;
        while (true)
        {
            var overview = await api.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>("/api/console/overview");
            var networks = overview!["networks"]!.AsArray();
            if (networks.All(n => (int?)n!["roomsJoined"] == (int?)n!["roomsLinked"]))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"rooms joined: {networks.ToJsonString()}");
            }

            await Task.Delay(200);
        }
    }
}
