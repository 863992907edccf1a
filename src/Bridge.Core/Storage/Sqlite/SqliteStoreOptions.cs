namespace Bridge.Core.Storage.Sqlite;

public sealed class SqliteStoreOptions
{
    /// <summary>Path of the database file.</summary>
    public string Path { get; set; } = "bridge.db";

    /// <summary><c>normal</c> (durable across process crashes; the default) or <c>full</c> (also across power loss).</summary>
    public string Synchronous { get; set; } = "normal";
}
