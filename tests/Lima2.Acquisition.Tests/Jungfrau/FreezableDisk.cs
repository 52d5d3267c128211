using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Jungfrau;

/// <summary>
/// A small ext4 file system on a loop device mounted on a folder, which the test can freeze (<c>fsfreeze</c>): every
/// write to it then waits until it thaws, as on a stalled disk. Needs root, as the tests' other mounts.
/// </summary>
internal sealed class FreezableDisk : IDisposable
{
    private readonly string _mount;
    private readonly string _image;
    private bool _frozen;

    private FreezableDisk(string mount, string image)
    {
        _mount = mount;
        _image = image;
    }

    public static FreezableDisk Mount(string folder, int megabytes = 64)
    {
        Directory.CreateDirectory(folder);
        var image = folder.TrimEnd('/') + ".ext4";
        using (var file = File.Create(image))
            file.SetLength((long)megabytes << 20);
        Run("mkfs.ext4", "-q", image);
        Run("mount", "-o", "loop", image, folder);
        return new FreezableDisk(folder, image);
    }

    public void Freeze()
    {
        Run("fsfreeze", "-f", _mount);
        _frozen = true;
    }

    public void Thaw()
    {
        if (!_frozen)
            return;
        Run("fsfreeze", "-u", _mount);
        _frozen = false;
    }

    public void Dispose()
    {
        Thaw();
        Run("umount", _mount);
        File.Delete(_image);
    }

    private static void Run(string command, params string[] arguments)
    {
        using var process = ChildProcess.Start(command, arguments);
        var exit = process.WaitForExit(TimeSpan.FromSeconds(30));
        if (exit != 0)
            throw new InvalidOperationException($"{command} {string.Join(' ', arguments)} exited with {exit}: {process.Output}");
    }
}
