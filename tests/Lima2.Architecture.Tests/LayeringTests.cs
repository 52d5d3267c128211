using System.Reflection;
using System.Xml.Linq;

namespace Lima2.Architecture.Tests;

/// <summary>
/// The layering docs/ARCHITECTURE.md promises, checked on the built assemblies and the project files, so that a
/// change which breaks it fails here with the use that breaks it.
/// </summary>
public class LayeringTests
{
    /// <summary>Lima2.Core's namespaces, lowest first: each uses only those before it.</summary>
    public static readonly string[] CoreLayers =
    [
        "Lima2.Core.Frames", "Lima2.Core.IO", "Lima2.Core.Parameters", "Lima2.Core.Pipeline", "Lima2.Core.Processing",
        "Lima2.Core.Graph",
    ];

    /// <summary>Thin bindings to one native library or format each; none knows another.</summary>
    public static readonly string[] InteropProjects = ["Lima2.Compression", "Lima2.Zmq", "Lima2.OpenCL", "Lima2.Hdf5"];

    [Theory]
    [InlineData("Lima2.Core", "Lima2.Core")]
    [InlineData("Lima2Server", "Lima2.Server")]
    [InlineData("Tango.NET", "Tango")]
    [InlineData("Lima2.Hdf5", "Lima2.Hdf5")]
    public void No_namespace_loop_inside(string assembly, string scope)
    {
        var loops = DependencyGraph.OfNamespaces(Load(assembly), scope).Loops();
        Assert.True(loops.Count == 0, $"namespace loops in {assembly}:\n{string.Join("\n", loops)}");
    }

    [Fact]
    public void Core_namespaces_use_only_the_layers_below_them()
    {
        var graph = DependencyGraph.OfNamespaces(Load("Lima2.Core"), "Lima2.Core");
        var unplaced = graph.Namespaces.Where(ns => !CoreLayers.Any(layer => DependencyGraph.InScope(ns, layer))).ToList();
        Assert.True(unplaced.Count == 0, $"namespaces not placed in {nameof(CoreLayers)}: {string.Join(", ", unplaced)}");
        var upward = graph.UsesUpward(CoreLayers);
        Assert.True(upward.Count == 0, $"uses of a higher layer:\n{string.Join("\n", upward)}");
    }

    [Fact]
    public void Pipeline_does_not_see_Processing()
    {
        var graph = DependencyGraph.OfNamespaces(Load("Lima2.Core"), "Lima2.Core");
        Assert.Null(graph.Use("Lima2.Core.Pipeline", "Lima2.Core.Processing"));
    }

    [Fact]
    public void Core_knows_nothing_native()
    {
        var core = Load("Lima2.Core");
        var pinvokes = core.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Where(m => m.Attributes.HasFlag(MethodAttributes.PinvokeImpl))
            .Select(m => $"{m.DeclaringType!.FullName}.{m.Name}")
            .ToList();
        Assert.True(pinvokes.Count == 0, $"P/Invoke in Lima2.Core: {string.Join(", ", pinvokes)}");
        var references = core.GetReferencedAssemblies().Select(a => a.Name!)
            .Where(name => !IsFramework(name) && name != "YamlDotNet")
            .ToList();
        Assert.True(references.Count == 0, $"Lima2.Core references {string.Join(", ", references)}");
        Assert.Empty(ProjectReferences("Lima2.Core"));
    }

    [Fact]
    public void Interop_projects_reference_none_of_each_other()
    {
        var uses = InteropProjects.SelectMany(project =>
            Load(project).GetReferencedAssemblies().Select(a => a.Name!)
                .Concat(ProjectReferences(project))
                .Where(other => other != project && InteropProjects.Contains(other))
                .Select(other => $"{project} -> {other}"))
            .Distinct()
            .ToList();
        Assert.True(uses.Count == 0, $"interop projects that know each other: {string.Join(", ", uses)}");
    }

    [Fact]
    public void Detector_channels_do_not_reference_the_HDF5_binding()
    {
        Assert.DoesNotContain("Lima2.Hdf5", Load("Lima2.Detectors").GetReferencedAssemblies().Select(a => a.Name));
        Assert.DoesNotContain("Lima2.Hdf5", ProjectReferences("Lima2.Detectors"));
    }

    /// <summary>The published server is the base .NET runtime and our projects: no ASP.NET Core (was 110 MB of the
    /// self-contained folder, for a stand-in SIMPLON server that belongs to lima2 stream and the tests).</summary>
    [Fact]
    public void The_server_and_every_project_it_references_need_only_the_base_runtime()
    {
        var seen = new HashSet<string>();
        var pending = new Stack<string>(["Lima2.Server"]);
        while (pending.TryPop(out var project))
            if (seen.Add(project))
                foreach (var reference in ProjectReferences(project))
                    pending.Push(reference);
        var frameworks = seen.SelectMany(project => XDocument.Load(ProjectFile(project)).Descendants("FrameworkReference")
                .Select(f => $"{project} -> {f.Attribute("Include")!.Value}"))
            .ToList();
        Assert.True(frameworks.Count == 0, $"shared frameworks beyond the base runtime: {string.Join(", ", frameworks)}");
        Assert.Contains("Lima2.Detectors", seen);
    }

    [Fact]
    public void Tango_Interop_does_not_use_Tango_Server()
    {
        var graph = DependencyGraph.OfNamespaces(Load("Tango.NET"), "Tango");
        var uses = graph.Namespaces.Where(ns => DependencyGraph.InScope(ns, "Tango.Interop"))
            .SelectMany(ns => graph.Uses(ns, target => DependencyGraph.InScope(target, "Tango.Server")))
            .ToList();
        Assert.True(uses.Count == 0, $"Tango.Interop uses Tango.Server:\n{string.Join("\n", uses)}");
    }

    private static Assembly Load(string name) => Assembly.Load(new AssemblyName(name));

    private static bool IsFramework(string name) =>
        name is "netstandard" or "mscorlib" || name.StartsWith("System", StringComparison.Ordinal) ||
        name.StartsWith("Microsoft.", StringComparison.Ordinal);

    /// <summary>The projects <c>DeviceServers/&lt;project&gt;/&lt;project&gt;.csproj</c> references, by name.</summary>
    public static IReadOnlyList<string> ProjectReferences(string project)
    {
        return XDocument.Load(ProjectFile(project)).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))
            .ToList();
    }

    private static string ProjectFile(string project) => Path.Combine(RepositoryRoot(), "DeviceServers", project, project + ".csproj");

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Lima2.Tango.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"no Lima2.Tango.sln above {AppContext.BaseDirectory}");
    }
}
