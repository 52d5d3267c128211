using System.Globalization;

namespace Tango.Server;

/// <summary>Tango DB property strings to C# values.</summary>
public static class PropertyValue
{
    public static object Parse(IReadOnlyList<string> values, Type target)
    {
        if (target == typeof(string))
            return string.Join("\n", values);
        if (target.IsArray)
        {
            var element = target.GetElementType()!;
            var array = Array.CreateInstance(element, values.Count);
            for (var i = 0; i < values.Count; i++)
                array.SetValue(One(values[i], element), i);
            return array;
        }
        if (values.Count != 1)
            throw new FormatException($"expected one value for a {target.Name} property, got {values.Count}");
        return One(values[0], target);
    }

    private static object One(string s, Type t)
    {
        s = s.Trim();
        if (t == typeof(string))
            return s;
        if (t == typeof(bool))
            return s.ToLowerInvariant() switch
            {
                "true" or "1" or "yes" or "on" => true,
                "false" or "0" or "no" or "off" => false,
                _ => throw new FormatException($"'{s}' is not a boolean"),
            };
        if (t.IsEnum)
            return Enum.Parse(t, s, ignoreCase: true);
        return Convert.ChangeType(s, t, CultureInfo.InvariantCulture);
    }
}
