namespace Lima2.Core.Parameters;

/// <summary>One problem in a parameter document: where (<c>proc.statistics.rect_rois[2].dimensions.x</c>) and why.</summary>
public sealed record ParamsError(string Path, string Reason)
{
    public override string ToString() => $"{Path}: {Reason}";
}

/// <summary>A parameter document that cannot be used; <see cref="Exception.Message"/> lists every error, one a line.</summary>
public sealed class ParamsException(IReadOnlyList<ParamsError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<ParamsError> Errors { get; } = errors;
}

/// <summary>Builds error paths: <c>root.field[3].sub</c>.</summary>
internal static class ParamsPath
{
    public static string Field(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    public static string Item(string path, int index) => $"{path}[{index}]";
}
