using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lima2.Core.Parameters;

/// <summary>
/// Checks a JSON document against a schema written by <see cref="JsonSchemaGenerator"/> (the keywords it uses:
/// type, properties, additionalProperties, required, enum, items, minimum, exclusiveMinimum, maximum) and reports
/// every error with its path, so that a client learns all that is wrong with a document at once.
/// </summary>
public static class SchemaValidator
{
    public static IReadOnlyList<ParamsError> Validate(JsonObject schema, JsonElement document, string rootPath = "")
    {
        var errors = new List<ParamsError>();
        Check(schema, document, rootPath, errors);
        return errors;
    }

    private static void Check(JsonObject schema, JsonElement value, string path, List<ParamsError> errors)
    {
        var where = path.Length == 0 ? "(document)" : path;
        // "type" is one name, or a list of them (a field that may be null)
        var types = schema["type"] switch
        {
            JsonValue one => [one.GetValue<string>()],
            JsonArray several => several.Select(t => t!.GetValue<string>()).ToArray(),
            _ => Array.Empty<string>(),
        };
        if (types.Length > 0 && !types.Any(t => HasType(value, t)))
        {
            errors.Add(new ParamsError(where, $"expected {string.Join(" or ", types.Select(Article))}, got {Describe(value)}"));
            return;
        }
        if (value.ValueKind == JsonValueKind.Null)
            return;
        if (schema["enum"] is JsonArray allowed)
        {
            var text = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            if (!allowed.Any(a => a?.GetValue<string>() == text))
                errors.Add(new ParamsError(where,
                    $"must be one of {string.Join(", ", allowed.Select(a => a!.GetValue<string>()))}, got {value.GetRawText()}"));
        }
        if (value.ValueKind == JsonValueKind.Number)
            CheckBounds(schema, value.GetDouble(), where, errors);
        if (value.ValueKind == JsonValueKind.Array && schema["items"] is JsonObject items)
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
                Check(items, item, ParamsPath.Item(path, i++), errors);
        }
        if (value.ValueKind == JsonValueKind.Object && schema["properties"] is JsonObject properties)
        {
            var closed = schema["additionalProperties"] is JsonValue v && !v.GetValue<bool>();
            foreach (var field in value.EnumerateObject())
            {
                if (properties[field.Name] is JsonObject fieldSchema)
                    Check(fieldSchema, field.Value, ParamsPath.Field(path, field.Name), errors);
                else if (closed)
                    errors.Add(new ParamsError(ParamsPath.Field(path, field.Name),
                        $"unknown field (known: {string.Join(", ", properties.Select(p => p.Key))})"));
            }
            if (schema["required"] is JsonArray required)
                foreach (var name in required.Select(r => r!.GetValue<string>()))
                    if (!value.TryGetProperty(name, out _))
                        errors.Add(new ParamsError(ParamsPath.Field(path, name), "required field is missing"));
        }
    }

    private static void CheckBounds(JsonObject schema, double number, string where, List<ParamsError> errors)
    {
        if (schema["minimum"] is JsonValue min && number < Value(min))
            errors.Add(new ParamsError(where, $"must be >= {min.ToJsonString()}"));
        if (schema["exclusiveMinimum"] is JsonValue xmin && number <= Value(xmin))
            errors.Add(new ParamsError(where, $"must be > {xmin.ToJsonString()}"));
        if (schema["maximum"] is JsonValue max && number > Value(max))
            errors.Add(new ParamsError(where, $"must be <= {max.ToJsonString()}"));
    }

    private static bool HasType(JsonElement value, string type) => type switch
    {
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => true,
    };

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.String => $"the string {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        _ => "an object",
    };

    private static string Article(string type) => type == "null" ? "null" : type is "object" or "array" or "integer" ? $"an {type}" : $"a {type}";

    private static double Value(JsonValue bound) => double.Parse(bound.ToJsonString(), CultureInfo.InvariantCulture);
}
