namespace Lima2.Architecture.Tests;

/// <summary>The checks of <see cref="LayeringTests"/> can fail: each finds a planted break.</summary>
public class CheckerTests
{
    [Fact]
    public void A_loop_is_found_with_the_uses_that_close_it()
    {
        var graph = DependencyGraph.Of(("A", "B"), ("B", "C"), ("C", "A"), ("C", "D"), ("D", "E"));
        var loop = Assert.Single(graph.Loops());
        Assert.Equal(["A", "B", "C"], loop.Namespaces);
        Assert.Equal(["A -> B", "B -> C", "C -> A"], loop.Uses.Order());
    }

    [Fact]
    public void A_graph_without_loop_has_none() =>
        Assert.Empty(DependencyGraph.Of(("A", "B"), ("B", "C"), ("A", "C")).Loops());

    [Fact]
    public void A_use_of_a_higher_layer_is_found_and_sub_namespaces_belong_to_their_layer()
    {
        var graph = DependencyGraph.Of(("Core.Frames", "Core.Parameters"), ("Core.Pipeline.Nodes", "Core.Frames"));
        Assert.Equal(["Core.Frames -> Core.Parameters"], graph.UsesUpward(["Core.Frames", "Core.Parameters", "Core.Pipeline"]));
        Assert.Empty(graph.UsesUpward(["Core.Parameters", "Core.Frames", "Core.Pipeline"]));
    }

    [Fact]
    public void Uses_inside_method_bodies_and_field_types_of_a_real_assembly_make_a_loop()
    {
        var graph = DependencyGraph.OfNamespaces(typeof(CheckerTests).Assembly, "Lima2.Architecture.Tests.Samples");
        var loop = Assert.Single(graph.Loops());
        Assert.Equal(["Lima2.Architecture.Tests.Samples.High", "Lima2.Architecture.Tests.Samples.Low"], loop.Namespaces);
        Assert.Contains("LowThing uses Lima2.Architecture.Tests.Samples.High.HighThing (Size)",
            graph.Use("Lima2.Architecture.Tests.Samples.Low", "Lima2.Architecture.Tests.Samples.High"));
    }

    [Fact]
    public void A_namespace_scope_does_not_take_in_a_longer_name() =>
        Assert.False(DependencyGraph.InScope("Lima2.CoreX", "Lima2.Core"));

    [Fact]
    public void Project_references_are_read_from_the_project_file() =>
        Assert.Contains("Lima2.Core", LayeringTests.ProjectReferences("Lima2.Hdf5"));
}
