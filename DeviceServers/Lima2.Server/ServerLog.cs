using System.Text;
using Lima2.Hdf5;
using NLog;
using NLog.Targets;

namespace Lima2.Server;

/// <summary>
/// The server's log file <c>{folder}/Lima2Server_{instance}.log</c>, Info and up: refusals, failures with their
/// full traces, FAULTs (Tango logging gets the same messages through Tango.NET's own target).
/// </summary>
/// <remarks>
/// The folder is <c>LIMA2_LOG_DIR</c>, else <c>$XDG_STATE_HOME/lima2</c> (<c>~/.local/state/lima2</c>): never /tmp,
/// where anyone may plant a link named like our file. The file is opened beneath the folder's descriptor with
/// O_NOFOLLOW (as saving files are, <see cref="SavingRoot"/>) and written through that descriptor only. It is
/// appended to and never renamed: rotate it with logrotate's <c>copytruncate</c>.
/// </remarks>
public static class ServerLog
{
    public const string FolderVariable = "LIMA2_LOG_DIR";

    /// <summary>The log folder: <c>LIMA2_LOG_DIR</c>, else the user's state folder.</summary>
    public static string Folder()
    {
        if (Environment.GetEnvironmentVariable(FolderVariable) is { Length: > 0 } configured)
            return configured;
        var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        return Path.Combine(state, "lima2");
    }

    public static string FileName(string instance) => $"Lima2Server_{instance}.log";

    /// <summary>Opens (creating the folder) the log file of <paramref name="instance"/>; the target owns it.</summary>
    /// <exception cref="UnauthorizedAccessException">the file is a symbolic link.</exception>
    public static Target Open(string folder, string instance)
    {
        Directory.CreateDirectory(folder);
        return new AppendTarget(() => OpenFile(folder, instance));
    }

    private static FileStream OpenFile(string folder, string instance)
    {
        using var root = new SavingRoot(folder);
        return new FileStream(root.AppendFile(FileName(instance), out _), FileAccess.Write, bufferSize: 0);
    }

    /// <summary>Sends Info and up of every logger to the log file of <paramref name="instance"/>; says on stderr when it cannot.</summary>
    public static void Install(string instance)
    {
        var folder = Folder();
        try
        {
            var config = LogManager.Configuration ?? new NLog.Config.LoggingConfiguration();
            config.AddRule(NLog.LogLevel.Info, NLog.LogLevel.Fatal, Open(folder, instance));
            LogManager.Configuration = config;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"Lima2Server {instance}: no log file in {folder}: {e.Message}");
        }
    }

    /// <remarks>
    /// NLog closes a configuration's targets when it is set again (Tango.NET adds its own target to it that way) and
    /// initialises them anew: the file is opened on each initialisation, not once, or every later message is lost.
    /// </remarks>
    private sealed class AppendTarget : TargetWithLayout
    {
        private readonly Func<FileStream> _open;
        private FileStream? _file;

        /// <summary>Opens the file once now: a planted link is refused at once.</summary>
        public AppendTarget(Func<FileStream> open)
        {
            _open = open;
            _file = open();
            Name = "file";
            Layout = "${longdate} ${level:uppercase=true:padding=-5} ${logger} ${message}${onexception:inner= ${exception:format=tostring}}";
        }

        protected override void InitializeTarget()
        {
            base.InitializeTarget();
            _file ??= _open();
        }

        protected override void Write(LogEventInfo logEvent) =>
            _file?.Write(Encoding.UTF8.GetBytes(RenderLogEvent(Layout, logEvent) + "\n"));

        protected override void CloseTarget()
        {
            _file?.Dispose();
            _file = null;
            base.CloseTarget();
        }
    }
}
