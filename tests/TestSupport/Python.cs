namespace Lima2.TestSupport;

/// <summary>Debian's python3: the one with PyTango, numpy, h5py and pyFAI (the python3 on PATH has none of them).</summary>
public static class Python
{
    public const string Interpreter = "/usr/bin/python3";

    /// <summary>Runs a script with arguments and returns its stdout; throws with the whole output if it fails.</summary>
    public static string Run(string script, IEnumerable<string> arguments, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        // h5py readers of files our code wrote and closed take no HDF5 file lock: a child process that another test
        // started in the instant a file was open may still hold an inherited descriptor, and its lock, for a while.
        var env = new Dictionary<string, string?> { ["HDF5_USE_FILE_LOCKING"] = "FALSE" };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
            env[key] = value;
        using var process = ChildProcess.Start(Interpreter, [script, .. arguments], env);
        var rc = process.WaitForExit(timeout ?? TimeSpan.FromSeconds(120));
        if (rc != 0)
            throw new InvalidOperationException($"{Path.GetFileName(script)} exited with {rc}:\n{process.Output}");
        return process.Output;
    }

    /// <summary>Runs inline code (<c>python3 -c</c>) and returns its output.</summary>
    public static string Eval(string code, IReadOnlyDictionary<string, string?>? environment = null) =>
        Run("-c", [code], environment: environment);
}
