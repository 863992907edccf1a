namespace Bridge.Xmpp.Tests.Fixtures;

/// <summary>Scenarios every server must pass; each server's test class runs them as its own facts.</summary>
internal static class SharedScenarios
{
    /// <summary>With a fast keep-alive the connector pings itself through the server; a healthy server answers, so nothing reconnects.</summary>
    public static async Task SelfPingsKeepAHealthyConnectionAsync(IXmppTestServer server)
    {
        var room = server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(server, [room], extra: new Dictionary<string, string?> { ["keepAliveInterval"] = "00:00:00.200", ["joinTimeout"] = "00:00:01" });
        await bridge.WaitReadyAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(1, bridge.Xmpp.ConnectionCount);
        Assert.True(bridge.Connector.IsReady);
        Assert.DoesNotContain(bridge.Logs.Entries, e => e.EventId == XmppLog.LeftRoom || e.EventId == XmppLog.Disconnected);
    }
}
