namespace Bridge.Tests.EndToEnd;

/// <summary>Waits on the daemon's admin API, for the end-to-end tests that drive it over HTTP.</summary>
internal static class AdminApiProbe
{
    /// <summary>Returns once <c>/healthz</c> answers with success; fails the test if it never does within <paramref name="limit"/>.</summary>
    public static async Task WaitForHealthAsync(HttpClient http, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            try
            {
                using var r = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
                if (r.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            Assert.True(DateTime.UtcNow < deadline, "the daemon never became healthy");
            await Task.Delay(300);
        }
    }
}
