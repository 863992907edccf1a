namespace Bridge.Testing;

/// <summary>Fresh accounts and rooms per test, so tests sharing one server do not see each other's traffic.</summary>
public static class XmppTestServerExtensions
{
    /// <summary>Registers a fresh account (<paramref name="prefix"/> plus a random suffix) and returns its bare JID.</summary>
    public static async Task<string> NewUserAsync(this IXmppTestServer server, string prefix, string password = "pass")
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(prefix);
        var user = $"{prefix}{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 8, 40)].ToLowerInvariant();
        await server.RegisterAsync(user, password);
        return $"{user}@{server.Domain}";
    }

    /// <summary>The JID of a room nobody has used yet on the server's MUC service.</summary>
    public static string NewRoom(this IXmppTestServer server, string prefix = "room")
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(prefix);
        return server.Room($"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)]);
    }
}
