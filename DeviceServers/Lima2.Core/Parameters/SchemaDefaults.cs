using System.Text.Json.Nodes;

namespace Lima2.Core.Parameters;

/// <summary>The default document a schema describes, built the way Lima2 clients do (jsonschema_default).</summary>
public static class SchemaDefaults
{
    /// <summary>
    /// Every property with a <c>default</c> takes it; an object without a default is built from its properties'
    /// defaults. Required fields without default are left out for the client to fill.
    /// </summary>
    public static JsonNode? Build(JsonObject schema)
    {
        if (schema["default"] is { } value)
            return value.DeepClone();
        if (schema["properties"] is not JsonObject properties)
            return null;
        var result = new JsonObject();
        foreach (var (name, property) in properties)
            if (property is JsonObject propertySchema && Build(propertySchema) is { } child)
                result[name] = child;
        return result;
    }
}
