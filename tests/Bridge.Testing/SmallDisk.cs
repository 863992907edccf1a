using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Bridge.Testing;

/// <summary>
/// A small filesystem of its own (a tmpfs mounted for the test) that a test can fill to the last byte and free again,
/// so the daemon's store meets a real ENOSPC / SQLITE_FULL. Mounting needs root (CI runs as root).
/// </summary>
public sealed partial class SmallDisk : IDisposable
{
    private readonly string _filler;

    private SmallDisk(string path)
    {
        Path = path;
        _filler = System.IO.Path.Combine(path, "filler");
    }

    /// <summary>Why no small disk can be made here (for a test's Skip), or null when it can.</summary>
    public static string? WhyNot =>
        !OperatingSystem.IsLinux() ? "a tmpfs needs Linux" :
        GetEuid() != 0 ? "mounting a small tmpfs for a full disk needs root (CI runs as root)" : null;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public static async Task<SmallDisk> MountAsync(int megabytes)
    {
        var dir = Directory.CreateTempSubdirectory("bridge-small-disk-").FullName;
        var (code, output) = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "tmpfs", dir);
        if (code != 0)
        {
            Directory.Delete(dir);
            throw new InvalidOperationException($"could not mount a {megabytes} MB tmpfs at {dir} (exit {code}): {output}");
        }

        return new SmallDisk(dir);
    }

    /// <summary>Fills every free byte with a filler file; returns how many bytes it took.</summary>
    public long Fill()
    {
        long written = 0;
        using var stream = new FileStream(_filler, FileMode.Append, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        foreach (var chunk in new[] { 1 << 20, 64 << 10, 4 << 10, 512, 1 })
        {
            var buffer = new byte[chunk];
            while (true)
            {
                try
                {
                    stream.Write(buffer);
                    stream.Flush();
                    written += chunk;
                }
                catch (IOException)
                {
                    break;
                }
            }
        }

        return written;
    }

    /// <summary>Bytes still free.</summary>
    public long Available => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>Deletes the filler: space returns.</summary>
    public void Free() => System.IO.File.Delete(_filler);

    public void Dispose()
    {
        // Lazy unmount: a daemon that still holds the database open does not keep the mount alive for long.
        var (code, _) = RunAsync("umount", "-l", Path).GetAwaiter().GetResult();
        if (code == 0)
        {
            try
            {
                Directory.Delete(Path);
            }
            catch (IOException)
            {
                // Left for the OS temp cleaner.
            }
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var p = Process.Start(info) ?? throw new InvalidOperationException("could not start " + file);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();
}
