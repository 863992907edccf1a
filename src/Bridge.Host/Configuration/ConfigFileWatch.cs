using Microsoft.Extensions.Primitives;

namespace Bridge.Host.Configuration;

/// <summary>
/// Tells when the configuration file changed, by looking at the file's size and last write time every
/// <see cref="Every"/>: a write in place (nano, <c>cat &gt;</c>) and a replacement by rename (vim, <c>sed -i</c>,
/// configuration management) both change them.
/// </summary>
/// <remarks>
/// Not an inotify watch (<c>PhysicalFileProvider.Watch</c>): that watches the whole folder, and on Linux every write to
/// any file in it wakes the watcher. With the SQLite store in the same folder, each of its WAL writes (tens per message)
/// woke a thread that then found the write was not to this file: measured at about 8 to 13 % of the daemon's CPU
/// (docs/performance.md, "The configuration watch"). A look every two seconds costs one stat and nothing when the file
/// is unchanged; <c>SIGHUP</c> reloads at once.
/// </remarks>
internal sealed class ConfigFileWatch : IDisposable
{
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(2);

    private readonly string _path;
    private readonly ITimer _timer;
    private readonly Lock _lock = new();
    private (bool Exists, long Length, DateTime WrittenUtc) _seen;
    private CancellationTokenSource _changed = new();

    public ConfigFileWatch(string path, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _path = Path.GetFullPath(path);
        _seen = Look();
        _timer = time.CreateTimer(_ => Poll(), null, Every, Every);
    }

    /// <summary>A token that fires at the first change seen after this call; ask again for the next one.</summary>
    public IChangeToken Watch()
    {
        lock (_lock)
        {
            if (_changed.IsCancellationRequested)
            {
                _changed.Dispose();
                _changed = new CancellationTokenSource();
            }

            return new CancellationChangeToken(_changed.Token);
        }
    }

    /// <summary>Looks at the file once (the timer calls this); fires the current token if the file changed.</summary>
    internal void Poll()
    {
        CancellationTokenSource fire;
        lock (_lock)
        {
            var now = Look();
            if (now == _seen)
            {
                return;
            }

            _seen = now;
            fire = _changed;
        }

        try
        {
            fire.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: nobody is watching any more.
        }
    }

    private (bool, long, DateTime) Look()
    {
        try
        {
            var file = new FileInfo(_path);
            return file.Exists ? (true, file.Length, file.LastWriteTimeUtc) : (false, 0, default);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Unreadable now: seen as missing, so that the reload says why (it keeps the configuration in force).
            return (false, 0, default);
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        lock (_lock)
        {
            _changed.Dispose();
        }
    }
}
