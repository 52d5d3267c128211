using System.Globalization;
using System.Text.RegularExpressions;

namespace Lima2.Core.Parameters;

/// <summary>
/// Lima2's Python-style file name template, e.g. <c>{filename_prefix}_{filename_rank}_{file_number:05d}{filename_suffix}</c>.
/// Fields: filename_prefix, filename_rank, file_number, filename_suffix; integer specs <c>d</c>, <c>Nd</c>, <c>0Nd</c>.
/// </summary>
public static partial class FilenameFormat
{
    public static readonly IReadOnlyList<string> Fields = ["filename_prefix", "filename_rank", "file_number", "filename_suffix"];

    /// <summary>The problems of a template, empty when it renders.</summary>
    public static IReadOnlyList<string> Check(string format)
    {
        var problems = new List<string>();
        foreach (Match field in FieldPattern().Matches(format))
        {
            var name = field.Groups[1].Value;
            if (!Fields.Contains(name))
                problems.Add($"unknown field {{{name}}} (known: {string.Join(", ", Fields)})");
            else if (field.Groups[2].Success && !SpecPattern().IsMatch(field.Groups[2].Value))
                problems.Add($"unsupported format '{field.Groups[2].Value}' for {{{name}}} (use d, Nd or 0Nd)");
        }
        var rest = FieldPattern().Replace(format, "");
        if (rest.Contains('{') || rest.Contains('}'))
            problems.Add("unbalanced braces");
        if (!format.Contains("{file_number"))
            problems.Add("{file_number} is needed so that successive files get different names");
        return problems;
    }

    /// <summary>The file name of file <paramref name="fileNumber"/> of a saving channel.</summary>
    public static string Render(SavingParams saving, int fileNumber) =>
        Render(saving.FilenameFormat, saving.FilenamePrefix, saving.FilenameRank, fileNumber, saving.FilenameSuffix);

    public static string Render(string format, string prefix, int rank, int fileNumber, string suffix)
    {
        var problems = Check(format);
        if (problems.Count > 0)
            throw new FormatException($"filename_format '{format}': {string.Join("; ", problems)}");
        return FieldPattern().Replace(format, field =>
        {
            var name = field.Groups[1].Value;
            var spec = field.Groups[2].Success ? field.Groups[2].Value : "";
            return name switch
            {
                "filename_prefix" => prefix,
                "filename_suffix" => suffix,
                "filename_rank" => Integer(rank, spec),
                _ => Integer(fileNumber, spec),
            };
        });
    }

    private static string Integer(int value, string spec)
    {
        var digits = spec.TrimEnd('d');
        if (digits.Length == 0)
            return value.ToString(CultureInfo.InvariantCulture);
        var width = int.Parse(digits, CultureInfo.InvariantCulture);
        var text = Math.Abs(value).ToString(CultureInfo.InvariantCulture);
        var sign = value < 0 ? "-" : "";
        return digits[0] == '0'
            ? sign + text.PadLeft(width - sign.Length, '0')
            : (sign + text).PadLeft(width);
    }

    [GeneratedRegex(@"\{(\w*)(?::([^{}]*))?\}")]
    private static partial Regex FieldPattern();

    [GeneratedRegex(@"^\d*d?$")]
    private static partial Regex SpecPattern();
}
