namespace Lima2.TestSupport;

/// <summary>Where things are, found from the test assembly's location inside the checkout.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The shared folder beside the checkout (research notes, test vectors).</summary>
    public static string Shared => Path.GetFullPath(Path.Combine(Root, "..", "shared"));

    public static string TestData => Path.Combine(Shared, "testdata");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Lima2.Tango.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no Lima2.Tango.sln above {AppContext.BaseDirectory}");
    }
}
