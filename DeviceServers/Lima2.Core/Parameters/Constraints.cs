namespace Lima2.Core.Parameters;

/// <summary>Inclusive lower bound of a numeric field; becomes <c>minimum</c> in the schema.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MinimumAttribute(double value) : Attribute
{
    public double Value { get; } = value;
}

/// <summary>Exclusive lower bound of a numeric field; becomes <c>exclusiveMinimum</c> in the schema.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ExclusiveMinimumAttribute(double value) : Attribute
{
    public double Value { get; } = value;
}

/// <summary>Inclusive upper bound of a numeric field; becomes <c>maximum</c> in the schema.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MaximumAttribute(double value) : Attribute
{
    public double Value { get; } = value;
}

/// <summary>
/// A field whose value is an open JSON object that another component types (e.g. SMX <c>fai</c>). That component's
/// record, named by <paramref name="typeName"/> (assembly-qualified: Lima2.Core cannot reference it), describes the
/// block in the schema, with its defaults, wherever its assembly is loaded.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OpenObjectAttribute(string? typeName = null) : Attribute
{
    public string? TypeName { get; } = typeName;
}
