namespace Lima2.TestSupport;

/// <summary>Where things are, found from the test assembly's location inside the checkout.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The project's shared folder (research notes, test vectors): beside the checkout in CI and the main checkout,
    /// further up for a git worktree that lives one level deeper.
    /// </summary>
    public static string Shared { get; } = FindShared();

    public static string TestData => Path.Combine(Shared, "testdata");

    private static string FindShared()
    {
        for (var dir = new DirectoryInfo(Root).Parent; dir is not null; dir = dir.Parent)
        {
            var shared = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(shared, "testdata")))
                return shared;
        }
        throw new DirectoryNotFoundException($"no shared/testdata above {Root}");
    }

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
