namespace Bridge.Host.Admin.Access;

/// <summary>What a token may do on the admin API. Ordered: a higher role includes the lower ones.</summary>
internal enum AdminRole
{
    /// <summary>Reads state: status, links, dead letters, puppets.</summary>
    Viewer = 1,

    /// <summary>Also changes it: links, endpoints, pause and resume, dead-letter retry and drop.</summary>
    Operator = 2,
}

/// <summary>Who made a request: the configured token's name and its role.</summary>
internal sealed record AdminCaller(string Name, AdminRole Role)
{
    /// <summary>The caller of a loopback API with no token configured: it may read, never change.</summary>
    public static AdminCaller AnonymousLoopback { get; } = new("(no token, loopback)", AdminRole.Viewer);
}
