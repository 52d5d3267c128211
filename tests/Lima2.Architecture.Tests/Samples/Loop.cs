// Two namespaces that use each other, for CheckerTests: High names Low in a field's type, Low names High only
// inside a method body (a use the signatures do not show).
namespace Lima2.Architecture.Tests.Samples.Low
{
    public static class LowThing
    {
        public static int Size() => High.HighThing.Make().Length;
    }
}

namespace Lima2.Architecture.Tests.Samples.High
{
    public sealed class HighThing
    {
        public Type Owner = typeof(Low.LowThing);

        public int Length { get; } = 1;

        public static HighThing Make() => new();
    }
}
