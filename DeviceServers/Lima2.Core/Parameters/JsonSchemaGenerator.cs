using System.Collections.Concurrent;
using System.ComponentModel;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Lima2.Core.Parameters;

/// <summary>
/// Writes a JSON Schema (draft 2020-12) for a parameter record from the record itself: the names and types the
/// serializer uses, bounds from <see cref="MinimumAttribute"/> and friends, descriptions, and each field's default
/// taken from a freshly constructed record — the schema Lima2 clients fill their default documents from.
/// </summary>
public static class JsonSchemaGenerator
{
    public const string Draft = "https://json-schema.org/draft/2020-12/schema";

    private static readonly ConcurrentDictionary<Type, JsonObject> Cache = new();

    /// <summary>The schema of <paramref name="type"/>; a fresh copy each call.</summary>
    public static JsonObject Generate(Type type, string? title = null)
    {
        var schema = (JsonObject)Cache.GetOrAdd(type, t => ForObject(t)).DeepClone();
        var root = new JsonObject { ["$schema"] = Draft };
        if (title is not null)
            root["title"] = title;
        foreach (var (key, value) in schema)
            root[key] = value?.DeepClone();
        return root;
    }

    public static JsonObject Generate<T>(string? title = null) => Generate(typeof(T), title);

    private static JsonObject ForObject(Type type)
    {
        var info = ParamsJson.Options.GetTypeInfo(type);
        var instance = Activator.CreateInstance(type);
        var properties = new JsonObject();
        var required = new JsonArray();
        foreach (var property in info.Properties)
        {
            var member = (PropertyInfo)property.AttributeProvider!;
            var block = OpenObjectType(member);
            var schema = block is null ? ForMember(property.PropertyType, member) : ForType(block);
            var description = member.GetCustomAttribute<DescriptionAttribute>()?.Description;
            if (description is not null)
                schema["description"] = description;
            if (property.IsRequired)
                required.Add(property.Name);
            else if (instance is not null)
            {
                var value = block is null ? property.Get!(instance) : Activator.CreateInstance(block);
                var defaultValue = JsonSerializer.SerializeToNode(value, block ?? property.PropertyType, ParamsJson.Options);
                schema["default"] = defaultValue;
                // a field that defaults to null takes null too: the defaults a client builds from the schema validate
                if (defaultValue is null && schema["type"] is JsonValue single)
                    schema["type"] = new JsonArray(single.GetValue<string>(), "null");
            }
            properties[property.Name] = schema;
        }
        var result = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = properties,
            ["additionalProperties"] = false,
        };
        if (required.Count > 0)
            result["required"] = required;
        return result;
    }

    /// <summary>The record that types an open object field, when its assembly is loaded.</summary>
    private static Type? OpenObjectType(PropertyInfo member) =>
        member.GetCustomAttribute<OpenObjectAttribute>()?.TypeName is { } name ? Type.GetType(name, throwOnError: false) : null;

    private static JsonObject ForMember(Type type, PropertyInfo member)
    {
        if (member.GetCustomAttribute<OpenObjectAttribute>() is not null)
            return new JsonObject { ["type"] = "object" };
        var schema = ForType(type);
        if (member.GetCustomAttribute<MinimumAttribute>() is { } min)
            schema["minimum"] = Number(min.Value);
        if (member.GetCustomAttribute<ExclusiveMinimumAttribute>() is { } xmin)
            schema["exclusiveMinimum"] = Number(xmin.Value);
        if (member.GetCustomAttribute<MaximumAttribute>() is { } max)
            schema["maximum"] = Number(max.Value);
        return schema;
    }

    private static JsonObject ForType(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(bool))
            return new JsonObject { ["type"] = "boolean" };
        if (type == typeof(int) || type == typeof(long))
            return new JsonObject { ["type"] = "integer" };
        if (type == typeof(double) || type == typeof(float))
            return new JsonObject { ["type"] = "number" };
        if (type == typeof(string))
            return new JsonObject { ["type"] = "string" };
        if (type.IsEnum)
        {
            var names = new JsonArray();
            foreach (var value in Enum.GetValues(type))
                names.Add(JsonSerializer.Serialize(value, type, ParamsJson.Options).Trim('"'));
            return new JsonObject { ["type"] = "string", ["enum"] = names };
        }
        if (ElementType(type) is { } element)
            return new JsonObject { ["type"] = "array", ["items"] = ForType(element) };
        if (type == typeof(JsonElement))
            return new JsonObject();
        if (ParamsJson.Options.GetTypeInfo(type).Kind == JsonTypeInfoKind.Object)
            return (JsonObject)Cache.GetOrAdd(type, t => ForObject(t)).DeepClone();
        throw new NotSupportedException($"no schema for {type.Name}");
    }

    private static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && type.GetGenericTypeDefinition() is var d
          && (d == typeof(IReadOnlyList<>) || d == typeof(List<>) || d == typeof(IList<>))
            ? type.GetGenericArguments()[0]
            : null;

    private static JsonNode Number(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 1e15 ? JsonValue.Create((long)value) : JsonValue.Create(value);
}
