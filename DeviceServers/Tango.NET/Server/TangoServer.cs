using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using Tango.Interop;

namespace Tango.Server;

/// <summary>
/// A Tango device server process: <c>TangoServer.Run(args, typeof(MyDevice))</c> from <c>Main</c>. The command
/// line is cppTango's (<c>&lt;instance&gt; [-v4] [-nodb -dlist a/b/c,...] [-file=...] [-ORB...]</c>); the server name
/// is the executable's name as it was started (argv[0] in /proc/self/cmdline), as Starter expects.
/// SIGTERM, SIGINT, SIGQUIT and the admin device's Kill shut it down once and cleanly; SIGHUP is ignored.
/// </summary>
public sealed class TangoServer
{
    private static TangoServer? _current;
    private readonly List<ClassBinding> _classes;
    private readonly ConcurrentDictionary<string, Device> _devices = new(StringComparer.OrdinalIgnoreCase);
    private SignalHandlers? _signals;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TangoServer(params Type[] deviceClasses)
    {
        if (deviceClasses.Length == 0)
            throw new ArgumentException("a server needs at least one device class", nameof(deviceClasses));
        _classes = deviceClasses.Select(t => ClassBinding.From(ClassSpec.From(t))).ToList();
    }

    /// <summary>The server running in this process (cppTango allows one).</summary>
    public static TangoServer? Current => Volatile.Read(ref _current);

    /// <summary>Runs a server with the given device classes until it is shut down; returns the exit code.</summary>
    public static int Run(string[] args, params Type[] deviceClasses) => new TangoServer(deviceClasses).Run(args);

    /// <summary>The server name (executable name) and instance, set when <see cref="Run(string[])"/> starts.</summary>
    public string ServerName { get; private set; } = "";

    public string Instance { get; private set; } = "";

    /// <summary>Completes once the server accepts requests.</summary>
    public Task Ready => _ready.Task;

    /// <summary>
    /// Runs on the server thread once every device exists, before the server says it is ready: what a client must
    /// find as soon as it can connect (e.g. properties the server stores in the database) is done here.
    /// </summary>
    public event Action? Initialised;

    /// <summary>The devices alive now, across classes.</summary>
    public IReadOnlyCollection<Device> Devices => _devices.Values.ToList();

    public Device? GetDevice(string name) => _devices.GetValueOrDefault(name);

    /// <summary>Blocks until the server shuts down. Returns 0 after a clean shutdown, 1 when start-up failed.</summary>
    public int Run(string[] args)
    {
        if (Interlocked.CompareExchange(ref _current, this, null) is not null)
            throw new InvalidOperationException("a Tango server already runs in this process");
        var argv = new[] { ProgramName() }.Concat(args).ToArray();
        ServerName = Path.GetFileName(argv[0]);
        Instance = args.FirstOrDefault(a => !a.StartsWith('-')) ?? "";

        DefineClasses();
        TangoLogTarget.Install();
        // kept for the life of the process: a signal that comes after the shutdown must not kill it with 128+n
        _signals = new SignalHandlers(Shutdown);
        Exception? failure = null;
        // Util::init blocks most signals on its thread, and server_run must run on the thread that ran init.
        var thread = new Thread(() =>
        {
            try
            {
                ServerProxy.ServerInit(argv);
                Initialised?.Invoke();
                Console.Out.WriteLine("Ready to accept request");
                Console.Out.Flush();
                _ready.TrySetResult();
                ServerProxy.ServerRun();
            }
            catch (Exception e)
            {
                failure = e;
                _ready.TrySetException(e);
            }
        }) { Name = "tango-server" };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            Console.Error.WriteLine($"{ServerName}/{Instance}: {failure}");
            return 1;
        }
        return 0;
    }

    /// <summary>Asks the server to shut down (as the admin Kill command does); returns at once.</summary>
    public void Shutdown() => ServerProxy.RequestShutdown();

    /// <summary>
    /// Creates a device of one of this server's classes while it runs: registered in the Tango DB (when the
    /// server uses one), initialised and exported. Not from a command of a device that this call deletes.
    /// </summary>
    public Device CreateDevice(string className, string deviceName)
    {
        ServerProxy.CreateDevice(FindClass(className).Spec.Name, deviceName);
        return GetDevice(deviceName) ?? throw new InvalidOperationException($"{deviceName} was not created");
    }

    /// <summary>Deletes a device created by this server and, with a Tango DB, its registration.
    /// Call it from another device's command or a plain thread, never from the device itself.</summary>
    public void DeleteDevice(string deviceName)
    {
        var device = GetDevice(deviceName)
                     ?? throw new DevFailedException("API_DeviceNotFound", $"{deviceName} is not a device of this server", "DeleteDevice");
        ServerProxy.DeleteDevice(device.ClassName, device.Name);
    }

    internal ClassBinding ClassAt(int index) => _classes[index];

    internal void Added(Device d) => _devices[d.Name] = d;

    internal void Removed(Device d) => _devices.TryRemove(new KeyValuePair<string, Device>(d.Name, d));

    private ClassBinding FindClass(string name) =>
        _classes.FirstOrDefault(c => string.Equals(c.Spec.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new DevFailedException("TangoNet_NoSuchClass", $"no class {name} in this server", "CreateDevice");

    private void DefineClasses()
    {
        ServerCallbacks.Install();
        foreach (var cls in _classes)
        {
            var index = ServerProxy.ClassDefine(cls.Spec.Name, cls.Spec.OverridesState, cls.Spec.OverridesStatus);
            cls.Index = index;
            foreach (var a in cls.Attributes.Values.OrderBy(a => a.Id))
                a.Describe(desc => ServerProxy.ClassAddAttr(index, desc));
            foreach (var c in cls.Commands)
                c.Describe(desc => ServerProxy.ClassAddCmd(index, desc));
            var defaults = cls.Factory();
            foreach (var p in cls.Spec.Properties)
                ServerProxy.ClassAddProperty(index, p.IsClassProperty ? TnsPropertyScope.Class : TnsPropertyScope.Device,
                    p.Name, p.Description, string.Join('\n', p.DefaultValues(defaults)));
        }
    }

    /// <summary>argv[0] as the process was started: the apphost path, or a symlink to it (Starter's StartDsPath).</summary>
    private static string ProgramName()
    {
        try
        {
            var cmdline = File.ReadAllBytes("/proc/self/cmdline");
            var end = Array.IndexOf(cmdline, (byte)0);
            var argv0 = Encoding.UTF8.GetString(cmdline, 0, end < 0 ? cmdline.Length : end);
            if (!Path.GetFileName(argv0).StartsWith("dotnet", StringComparison.Ordinal))
                return argv0;
        }
        catch (IOException)
        {
            // not Linux: fall through
        }
        // `dotnet Server.dll`: name the server after the assembly
        return Path.ChangeExtension(Environment.GetCommandLineArgs()[0], null);
    }

    /// <summary>POSIX signals: cppTango's own signal thread never sees them (see the spike, pitfall 1).</summary>
    private sealed class SignalHandlers
    {
        // referenced so that the registrations stay alive (a collected registration unregisters)
        private readonly PosixSignalRegistration[] _registrations;

        public SignalHandlers(Action shutdown)
        {
            ServerProxy.SignalUnignore();
            void Stop(PosixSignalContext ctx)
            {
                ctx.Cancel = true;
                try
                {
                    shutdown();
                }
                catch (DevFailedException e)
                {
                    Console.Error.WriteLine($"shutdown failed: {e}");
                }
            }
            _registrations =
            [
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop),
                PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop),
                PosixSignalRegistration.Create(PosixSignal.SIGQUIT, Stop),
                PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx => ctx.Cancel = true),
            ];
        }
    }
}
