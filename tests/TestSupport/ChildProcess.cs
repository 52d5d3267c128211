using System.Diagnostics;
using System.Text;

namespace Lima2.TestSupport;

/// <summary>
/// A process started by a test: output captured, loopback-only Tango environment, killed (whole process tree)
/// when disposed so nothing outlives the test.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ChildProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the process printed so far, stdout and stderr interleaved.</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>Starts <paramref name="fileName"/> with ORBendPoint on loopback and the given extra environment.</summary>
    public static ChildProcess Start(string fileName, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        info.Environment["ORBendPoint"] = "giop:tcp:127.0.0.1:";
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
                info.Environment.Remove(key);
            else
                info.Environment[key] = value;
        }
        return new ChildProcess(Process.Start(info) ?? throw new InvalidOperationException($"cannot start {fileName}"));
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; throws with the output if it exits or times out.</summary>
    public void WaitForOutput(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"process exited ({_process.ExitCode}) before printing '{text}':\n{Output}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no '{text}' after {timeout.TotalSeconds} s:\n{Output}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
            throw new TimeoutException($"still running after {timeout.TotalSeconds} s:\n{Output}");
        _process.WaitForExit(); // drains the asynchronous output readers
        return _process.ExitCode;
    }

    /// <summary>Sends a POSIX signal (SIGTERM = 15, SIGINT = 2, ...).</summary>
    public void Signal(int signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString()]);
        kill.WaitForExit();
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
    }
}
