namespace Lima2.Acquisition.Tests;

/// <summary>The helper scripts copied beside the test assembly (Python/*.py).</summary>
internal static class PythonScripts
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Python", name);
}
