using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Lima2.Core.Parameters;

/// <summary>
/// Parameter documents written in YAML (a <c>lima2 receive</c> parameter file): converted to JSON with YAML 1.2's
/// core schema (plain true/false, null, integers and floats become JSON values; quoted scalars stay strings), then
/// read like any JSON document.
/// </summary>
public static class YamlJson
{
    /// <summary>The JSON of a YAML document (an empty document is <c>{}</c>).</summary>
    public static JsonNode ToJson(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ParamsException([new ParamsError($"yaml:{e.Start.Line}:{e.Start.Column}", (e.InnerException ?? e).Message)]);
        }
        return stream.Documents.Count == 0 ? new JsonObject() : Convert(stream.Documents[0].RootNode) ?? new JsonObject();
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(pair =>
            KeyValuePair.Create(((YamlScalarNode)pair.Key).Value ?? "", Convert(pair.Value)))),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(Convert).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new ParamsException([new ParamsError($"yaml:{node.Start.Line}:{node.Start.Column}", "unsupported YAML node")]),
    };

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not ScalarStyle.Plain)
            return JsonValue.Create(text);
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            return JsonValue.Create(integer);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
            return JsonValue.Create(number);
        return JsonValue.Create(text);
    }
}
