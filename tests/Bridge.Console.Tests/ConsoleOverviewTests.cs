using System.Text.RegularExpressions;
using Bridge.Tests.EndToEnd;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Bridge.Console.Tests;

/// <summary>
/// The console in Debian's chromium against the real daemon, real Prosody and the sandbox homeserver and Mattermost:
/// signing in, each network's live state, the links with their policy per destination, the audit view and its verify
/// button, at desktop and phone sizes (screenshots under the test output folder).
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleOverviewTests(ITestOutputHelper output)
{
    private const string Policy = """
        policy:
          labels: [UNCLASSIFIED, CUI, SECRET]
          networks:
            mm: { clearance: SECRET, defaultLabel: UNCLASSIFIED }
            matrix: { clearance: CUI, defaultLabel: UNCLASSIFIED }
            xmpp: { clearance: UNCLASSIFIED, defaultLabel: UNCLASSIFIED }
        """;

    [Fact]
    public async Task Signed_in_operator_sees_every_networks_state_the_links_policy_and_a_verified_audit_trail()
    {
        var admin = new AdminTokens();
        await using var net = await ThreeNetworks.StartAsync(configure: b => b.Raw(Policy).Raw(admin.Yaml));
        var bridge = await net.StartBridgeAsync();
        await using var browser = await ConsoleBrowser.LaunchAsync();
        try
        {
            var alice = await net.AliceAsync();
            net.BobSays("hello from matrix");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body.Contains("hello from matrix", StringComparison.Ordinal)), ThreeNetworks.Long, "Bob's message on XMPP");

            var page = await browser.OpenAsync(admin.Url);
            await ConsoleSteps.SignInAsync(page, "not-a-token", expectRefused: true);
            await ConsoleSteps.SignInAsync(page, admin.Operator);

            // Networks: all three connected, their linked room joined, nothing waiting.
            foreach (var (network, kind) in new[] { ("xmpp", "xmpp"), ("matrix", "matrix"), ("mm", "mattermost") })
            {
                var card = page.Locator($"[data-network='{network}']");
                await Assertions.Expect(card.Locator("[data-field='status']")).ToHaveTextAsync("Connected");
                await Assertions.Expect(card.Locator(".kind")).ToHaveTextAsync(kind);
                await Assertions.Expect(card.Locator("[data-field='rooms']")).ToHaveTextAsync("1 / 1");
                await Assertions.Expect(card.Locator("[data-field='pending']")).ToHaveTextAsync("0");
                await Assertions.Expect(card.Locator("[data-field='reconnects']")).ToHaveTextAsync("0");
            }

            await Assertions.Expect(page.GetByTestId("instance-role")).ToHaveTextAsync("active");
            await ConsoleBrowser.ScreenshotAsync(page, "networks-desktop");

            // Links: the file's link, its endpoints and what applies toward each destination.
            await page.GetByRole(AriaRole.Link, new() { Name = "Links" }).ClickAsync();
            var link = page.Locator("tr[data-link='ops']");
            await Assertions.Expect(link).ToContainTextAsync("matrix: #ops:localhost");
            await Assertions.Expect(link.Locator("[data-destination='xmpp']")).ToContainTextAsync("clearance UNCLASSIFIED");
            await Assertions.Expect(link.Locator("[data-destination='mm']")).ToContainTextAsync("clearance SECRET");
            await Assertions.Expect(link.Locator("[data-destination='matrix']")).ToContainTextAsync("delivers");
            await ConsoleBrowser.ScreenshotAsync(page, "links-desktop");

            // Audit: the decisions of Bob's message, filtered by destination network, then the verify button.
            await page.GetByRole(AriaRole.Link, new() { Name = "Audit" }).ClickAsync();
            await Assertions.Expect(page.Locator("tr[data-audit]").First).ToBeVisibleAsync();
            await page.Locator("#filter-network").SelectOptionAsync("xmpp");
            await page.Locator("#filter-decision").SelectOptionAsync("delivered");
            var rows = page.Locator("tr[data-audit]");
            await Assertions.Expect(rows.First).ToContainTextAsync("xmpp:");
            foreach (var row in await rows.AllAsync())
            {
                await Assertions.Expect(row.Locator("[data-field='decision']")).ToHaveTextAsync("delivered");
                await Assertions.Expect(row).ToContainTextAsync("xmpp");
            }

            await page.GetByRole(AriaRole.Button, new() { Name = "Verify audit trail" }).ClickAsync();
            await Assertions.Expect(page.Locator("#verify-result")).ToHaveTextAsync(new Regex("^Audit trail intact: [1-9][0-9]* records checked"));
            await ConsoleBrowser.ScreenshotAsync(page, "audit-desktop");

            // The same views at phone width: cards, not a table wider than the screen.
            var phone = await browser.OpenAsync(admin.Url, ConsoleBrowser.Phone);
            await ConsoleSteps.SignInAsync(phone, admin.Viewer);
            await Assertions.Expect(phone.Locator("[data-network='mm'] [data-field='status']")).ToHaveTextAsync("Connected");
            await ConsoleSteps.AssertFitsWidthAsync(phone);
            await ConsoleBrowser.ScreenshotAsync(phone, "networks-phone");
            foreach (var view in new[] { "links", "audit" })
            {
                await phone.GotoAsync(admin.Url + "#" + view);
                await Assertions.Expect(phone.Locator($"#view-{view}")).ToBeVisibleAsync();
                await Assertions.Expect(phone.Locator($"#view-{view} tbody tr").First).ToBeVisibleAsync();
                await ConsoleSteps.AssertFitsWidthAsync(phone);
                await ConsoleBrowser.ScreenshotAsync(phone, view + "-phone");
            }
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }
}
