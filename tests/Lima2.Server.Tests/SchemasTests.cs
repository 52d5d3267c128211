using System.Text.Json.Nodes;
using Lima2.Acquisition.Processing;
using Lima2.Core.Parameters;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>The schemas the server publishes, with the peak finder's blocks typed (the server loads Lima2.PeakFinding).</summary>
public sealed class SchemasTests
{
    [Fact]
    public void A_process_stores_the_acq_params_schema_of_the_classes_it_serves_only_with_their_plugin()
    {
        // a JUNGFRAU control's process: before, it also stored the simulator's schema over the receivers' class
        var documents = Schemas.Documents([("LimaControl", DetectorPlugin.Jungfrau), ("LimaControl", DetectorPlugin.Jungfrau)]).ToList();

        var acq = Assert.Single(documents, d => d.Attribute == "acq_params");
        Assert.Equal(("LimaControl", Schemas.AcqParams(DetectorPlugin.Jungfrau)), (acq.Class, acq.Schema));
        Assert.NotEqual(Schemas.AcqParams(DetectorPlugin.Simulator), acq.Schema);
        Assert.Equal(ProcParamsDocument.ClassNames.Order(), documents.Where(d => d.Attribute == "proc_params").Select(d => d.Class).Order());
    }

    [Fact]
    public void The_smx_fai_gpu_and_jfrau_blocks_describe_every_field_with_its_default()
    {
        var properties = JsonNode.Parse(Schemas.ProcParams(ProcClassNames.Smx))!["properties"]!;
        var fai = properties["fai"]!;
        Assert.Equal(["no_var", "variance", "poisson", "azimuthal", "hybrid"],
            fai["properties"]!["error_model"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(0, fai["default"]!["acc_nb_frames_reset"]!.GetValue<int>());
        Assert.Equal("""["number","null"]""", fai["properties"]!["dummy"]!["type"]!.ToJsonString());
        Assert.Equal("""["string","null"]""", fai["properties"]!["mask_path"]!["type"]!.ToJsonString());
        Assert.True(properties["gpu"]!["default"]!["ocl_cpu_fallback_enabled"]!.GetValue<bool>());
        Assert.Null(properties["jfrau"]!["default"]!["gain_path"]);
        foreach (var block in new[] { "fai", "gpu", "jfrau" })
            Assert.Equal(properties[block]!["properties"]!.AsObject().Select(p => p.Key).Order(),
                properties[block]!["default"]!.AsObject().Select(p => p.Key).Order());
    }

    [Fact]
    public void Defaults_built_from_each_published_schema_parse_and_pass_the_peak_finders_checks()
    {
        foreach (var name in ProcParamsDocument.ClassNames)
        {
            var defaults = SchemaDefaults.Build(JsonNode.Parse(Schemas.ProcParams(name))!.AsObject())!;
            defaults["class_name"] = name;
            var proc = ProcParamsDocument.Parse(defaults.ToJsonString());
            if (proc is SmxProcParams smx)
                PeakFindingNode.Validate(smx);
        }
        foreach (var plugin in Enum.GetValues<DetectorPlugin>())
            AcqParamsDocument.Parse(plugin, SchemaDefaults.Build(JsonNode.Parse(Schemas.AcqParams(plugin))!.AsObject())!.ToJsonString());
    }

    [Fact]
    public void Python_jsonschema_validates_the_defaults_clients_build_from_every_published_schema()
    {
        var schemas = new JsonArray();
        foreach (var plugin in Enum.GetValues<DetectorPlugin>())
            schemas.Add(JsonNode.Parse(Schemas.AcqParams(plugin)));
        foreach (var name in ProcParamsDocument.ClassNames)
            schemas.Add(JsonNode.Parse(Schemas.ProcParams(name)));
        var path = Path.Combine(Path.GetTempPath(), $"lima2-schemas-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, schemas.ToJsonString());
        try
        {
            // both readings of "defaults from the schema": a property's default first, or objects from their properties
            var output = Python.Eval($$"""
                import json, jsonschema
                def default_first(s):
                    if "default" in s: return s["default"]
                    return {k: default_first(v) for k, v in s.get("properties", {}).items() if "default" in v or "properties" in v}
                def properties_first(s):
                    if "properties" in s: return {k: properties_first(v) for k, v in s["properties"].items()}
                    return s.get("default")
                for schema in json.load(open({{System.Text.Json.JsonSerializer.Serialize(path)}})):
                    for build in (default_first, properties_first):
                        doc = build(schema)
                        if schema.get("title", "").startswith("LimaProcessing"):
                            doc["class_name"] = schema["title"]
                        jsonschema.Draft202012Validator(schema).validate(doc)
                    print("ok", schema.get("title"))
                """);
            Assert.Equal(schemas.Count, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("ok ")));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
