using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lima2.Core.Parameters;

/// <summary>Reads and writes parameter documents: JSON text → schema check (every error, with paths) → record.</summary>
public static class ParamsDocument
{
    /// <summary>
    /// Parses <paramref name="json"/> into <typeparamref name="T"/>; missing fields take their defaults. Throws
    /// <see cref="ParamsException"/> listing every malformed, unknown, mistyped or out-of-range field, with paths
    /// that start at <paramref name="rootPath"/> (e.g. <c>proc</c>).
    /// </summary>
    public static T Parse<T>(string json, string rootPath = "") where T : class
    {
        using var document = ParseJson(json, rootPath);
        return (T)Deserialize(document.RootElement, typeof(T), rootPath);
    }

    /// <summary>The JSON text of <paramref name="value"/> with the documents' names.</summary>
    public static string Write<T>(T value, bool indented = false) => ParamsJson.Serialize(value, indented);

    public static JsonObject Schema<T>(string? title = null) => JsonSchemaGenerator.Generate<T>(title);

    /// <summary>The document a client starts from: the schema's defaults.</summary>
    public static JsonNode? Defaults<T>() => SchemaDefaults.Build(JsonSchemaGenerator.Generate<T>());

    internal static JsonDocument ParseJson(string json, string rootPath)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            var where = rootPath.Length == 0 ? "(document)" : rootPath;
            throw new ParamsException([new ParamsError(where,
                $"malformed JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine}: {FirstSentence(e.Message)}")]);
        }
        var duplicates = new List<ParamsError>();
        FindDuplicateKeys(document.RootElement, rootPath, duplicates);
        if (duplicates.Count == 0)
            return document;
        document.Dispose();
        throw new ParamsException(duplicates);
    }

    /// <summary>A key given twice in one object: the serializer would silently keep the last value.</summary>
    private static void FindDuplicateKeys(JsonElement element, string path, List<ParamsError> errors)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in element.EnumerateArray())
                FindDuplicateKeys(item, ParamsPath.Item(path, i++), errors);
            return;
        }
        if (element.ValueKind != JsonValueKind.Object)
            return;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            var field = ParamsPath.Field(path, property.Name);
            if (!seen.Add(property.Name))
                errors.Add(new ParamsError(field, "duplicate key: given more than once in its object"));
            else
                FindDuplicateKeys(property.Value, field, errors);
        }
    }

    internal static object Deserialize(JsonElement element, Type type, string rootPath)
    {
        var errors = SchemaValidator.Validate(JsonSchemaGenerator.Generate(type), element, rootPath);
        if (errors.Count > 0)
            throw new ParamsException(errors);
        try
        {
            return element.Deserialize(type, ParamsJson.Options)
                   ?? throw new ParamsException([new ParamsError(rootPath, "the document is null")]);
        }
        catch (JsonException e)
        {
            // the schema check catches what a client can get wrong; this is the serializer's last word
            var path = (e.Path ?? "$").TrimStart('$').TrimStart('.');
            throw new ParamsException([new ParamsError(ParamsPath.Field(rootPath, path), FirstSentence(e.Message))]);
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }
}

/// <summary>
/// <c>proc_params</c> documents, whose record depends on <c>class_name</c>. The core registers the four Lima2
/// classes; another component may register a richer record for its pipeline (e.g. SMX with a typed <c>fai</c>).
/// </summary>
public static class ProcParamsDocument
{
    /// <summary>Root of the error paths of proc_params documents.</summary>
    public const string Root = "proc";

    private static readonly ConcurrentDictionary<string, Type> Classes = new()
    {
        [ProcClassNames.Legacy] = typeof(LegacyProcParams),
        [ProcClassNames.Smx] = typeof(SmxProcParams),
        [ProcClassNames.Xpcs] = typeof(XpcsProcParams),
        [ProcClassNames.Failing] = typeof(FailingProcParams),
    };

    public static IReadOnlyCollection<string> ClassNames => Classes.Keys.Order().ToArray();

    /// <summary>Uses <typeparamref name="T"/> for documents whose class_name is <paramref name="className"/>.</summary>
    public static void Register<T>(string className) where T : ProcParams, new() => Classes[className] = typeof(T);

    public static Type RecordType(string className) =>
        Classes.TryGetValue(className, out var type)
            ? type
            : throw new ParamsException([UnknownClass(className)]);

    /// <summary>The schema stored as the <c>schema</c> property of the processing class's <c>proc_params</c>.</summary>
    public static JsonObject Schema(string className) => JsonSchemaGenerator.Generate(RecordType(className), className);

    public static JsonNode? Defaults(string className)
    {
        var defaults = SchemaDefaults.Build(Schema(className))!;
        defaults["class_name"] = className;
        return defaults;
    }

    /// <summary>Parses a proc_params document into the record its class_name names.</summary>
    public static ProcParams Parse(string json)
    {
        using var document = ParamsDocument.ParseJson(json, Root);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new ParamsException([new ParamsError(Root, "expected an object")]);
        if (!root.TryGetProperty("class_name", out var name) || name.ValueKind != JsonValueKind.String)
            throw new ParamsException([new ParamsError($"{Root}.class_name", "required string field is missing")]);
        var proc = (ProcParams)ParamsDocument.Deserialize(root, RecordType(name.GetString()!), Root);
        ParamsValidator.ThrowIfAny(ParamsValidator.ValidateSupported(proc));
        return proc;
    }

    private static ParamsError UnknownClass(string className) =>
        new($"{Root}.class_name", $"unknown processing class '{className}' (known: {string.Join(", ", ClassNames)})");
}
