using System.Security.Cryptography;
using Microsoft.Extensions.Primitives;

namespace Bridge.Host.Configuration;

/// <summary>
/// Tells when the configuration file changed, by reading it every <see cref="Every"/>: the file a symbolic link points
/// to (followed on every look, as a Kubernetes ConfigMap swaps it) and a hash of its content. A write in place (nano,
/// <c>cat &gt;</c>), a replacement by rename (vim, <c>sed -i</c>, configuration management), a copy that keeps the
/// old size and time (<c>rsync -a</c>, <c>cp -p</c>) and a link pointed elsewhere all change one of them.
/// </summary>
/// <remarks>
/// Not an inotify watch (<c>PhysicalFileProvider.Watch</c>): that watches the whole folder, and on Linux every write to
/// any file in it wakes the watcher. With the SQLite store in the same folder each of its WAL writes, tens per message,
/// woke a thread that then found the write was not to this file (docs/performance.md, "The configuration watch").
/// Reading a configuration file every two seconds costs little; <c>SIGHUP</c> reloads at once.
/// </remarks>
internal sealed class ConfigFileWatch : IDisposable
{
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(2);

    private readonly string _path;
    private readonly ITimer _timer;
    private readonly Lock _lock = new();
    private Seen _seen;
    private CancellationTokenSource _changed = new();

    public ConfigFileWatch(string path, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _path = Path.GetFullPath(path);
        _seen = Look();
        _timer = time.CreateTimer(_ => Poll(), null, Every, Every);
    }

    /// <summary>
    /// What a change's handlers threw (a reload that binds a bad value, ...). Reported here, because the look runs on a
    /// timer, where an exception would end the process.
    /// </summary>
    public Action<Exception>? HandlerFailed { get; set; }

    /// <summary>A token that fires at the first change seen after this call; ask again for the next one.</summary>
    public IChangeToken Watch()
    {
        lock (_lock)
        {
            if (_changed.IsCancellationRequested)
            {
                // Not disposed here: this runs inside that source's own Cancel (ChangeToken.OnChange asks for the next
                // token from the change's callback). It holds no timer or handle; the collector takes it.
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
        catch (Exception ex)
        {
            HandlerFailed?.Invoke(ex is AggregateException { InnerExceptions.Count: 1 } one ? one.InnerExceptions[0] : ex);
        }
    }

    private Seen Look()
    {
        try
        {
            var target = File.ResolveLinkTarget(_path, returnFinalTarget: true)?.FullName ?? _path;
            var content = File.ReadAllBytes(target);
            return new Seen(true, target, Convert.ToHexString(SHA256.HashData(content)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Missing or unreadable now: the reload says why (and keeps the configuration in force).
            return new Seen(false, null, null);
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

    private readonly record struct Seen(bool Exists, string? Target, string? ContentHash);
}
