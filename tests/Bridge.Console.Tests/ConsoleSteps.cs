using Microsoft.Playwright;

namespace Bridge.Console.Tests;

/// <summary>What a person does in the console, as test steps.</summary>
internal static class ConsoleSteps
{
    public static async Task SignInAsync(IPage page, string token, bool expectRefused = false)
    {
        await Assertions.Expect(page.Locator("#login")).ToBeVisibleAsync();
        await page.Locator("#token").FillAsync(token);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        if (expectRefused)
        {
            await Assertions.Expect(page.Locator("#login-error")).ToContainTextAsync("refused");
            await Assertions.Expect(page.Locator("#app")).ToBeHiddenAsync();
            return;
        }

        await Assertions.Expect(page.Locator("#app")).ToBeVisibleAsync();
        // The token is kept for this tab only, and no cookie is ever set (the CSRF story).
        Assert.Equal(token, await page.EvaluateAsync<string>("() => sessionStorage.getItem('bridge.console.token')"));
        Assert.Empty(await page.Context.CookiesAsync());
    }

    /// <summary>Nothing is wider than the screen (no sideways scrolling on a phone).</summary>
    public static async Task AssertFitsWidthAsync(IPage page)
    {
        var (scroll, client) = (await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth"),
            await page.EvaluateAsync<int>("() => document.documentElement.clientWidth"));
        Assert.True(scroll <= client, $"the page is {scroll} px wide on a {client} px screen");
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "console";
}
