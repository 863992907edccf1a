using Microsoft.Extensions.Logging;

namespace Bridge.Core.Storage.Sqlite;

/// <summary>
/// Keeps the database file private to the bridge's user (0600): it holds puppets' tokens and outbox message text.
/// SQLite creates the -wal and -shm files with the main file's permission bits, so creating the main file 0600 before
/// SQLite first opens it (rather than relying on the process umask) makes all three private.
/// </summary>
internal static class SqliteFileMode
{
    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public const UnixFileMode PrivateFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static readonly EventId Tightened = new(1102, nameof(Tightened));
    private static readonly EventId FolderCreated = new(1103, nameof(FolderCreated));

    public static void EnsurePrivate(string path, ILogger logger)
    {
        if (OperatingSystem.IsWindows() || string.IsNullOrEmpty(path) || path == ":memory:" || path.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        if (!File.Exists(path))
        {
            // A first start on a fresh machine: the store's folder is created private rather than failing with
            // SQLite's "unable to open database file", which names no path.
            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(folder) && !Directory.Exists(folder))
            {
                Directory.CreateDirectory(folder, PrivateFolder);
                logger.LogInformation(FolderCreated, "Created the store's folder {Folder} (mode 0700)", folder);
            }

            try
            {
                // CreateNew with the mode set at open(2): there is no moment when the file exists with wider permissions.
                using var created = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    UnixCreateMode = Private,
                });
                return;
            }
            catch (IOException) when (File.Exists(path))
            {
                // Created by someone else meanwhile: check its mode below.
            }
        }

        // An existing store (from before this rule, or restored from a backup): tighten it and its WAL/SHM.
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            if (File.Exists(file) && (File.GetUnixFileMode(file) & ~Private) != 0)
            {
                File.SetUnixFileMode(file, Private);
                logger.LogWarning(Tightened, "Database file {File} was readable by other users; its mode is now 0600", file);
            }
        }
    }
}
