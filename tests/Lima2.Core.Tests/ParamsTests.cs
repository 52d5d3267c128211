using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Lima2.Core.Frames;
using Lima2.Core.Graph;
using Lima2.Core.Parameters;
using Lima2.TestSupport;

namespace Lima2.Core.Tests;

public class ParamsTests
{
    private const string LegacyExample = """
        {
          "class_name": "LimaProcessingLegacy",
          "fifo": {"nb_fifo_frames": 32, "nb_threads": 4},
          "statistics": {
            "enabled": true,
            "rect_rois": [{"topleft": {"x": 0, "y": 0}, "dimensions": {"x": 100, "y": 50}}],
            "arc_rois": [{"center": {"x": 1024.5, "y": 1024}, "r1": 10, "r2": 50, "a1": 0, "a2": 90}]
          },
          "profiles": {"enabled": true, "rois": [{"topleft": {"x": 5, "y": 5}, "dimensions": {"x": 10, "y": 3}}], "directions": ["vertical"]},
          "saving": {"enabled": true, "base_path": "/tmp/data", "filename_prefix": "scan1", "compression": "bshuf_lz4",
                     "file_exists_policy": "overwrite", "nb_frames_per_file": 100, "nb_dimensions": "dim_3d_or_4d"},
          "roi_flip_rot": {"enabled": false, "rotation": "90", "flip": "left_right"}
        }
        """;

    private static readonly FrameInfo Eiger4M = new(2048, 2048, PixelType.Gray16);

    private static ParamsException Fails(Action parse) => Assert.Throws<ParamsException>(parse);

    [Fact]
    public void A_legacy_proc_params_document_reads_with_its_snake_case_fields_and_fills_defaults()
    {
        var proc = Assert.IsType<LegacyProcParams>(ProcParamsDocument.Parse(LegacyExample));

        Assert.Equal(4, proc.Fifo.NbThreads);
        Assert.Equal(100, proc.Statistics.RectRois[0].Dimensions.X);
        Assert.Equal(1024.5, proc.Statistics.ArcRois[0].Center.X);
        Assert.Equal(ProfileDirection.Vertical, proc.Profiles.Directions[0]);
        Assert.Equal(SavingCompression.BshufLz4, proc.Saving.Compression);
        Assert.Equal(FileExistsPolicy.Overwrite, proc.Saving.FileExistsPolicy);
        Assert.Equal(Rotation.R90, proc.RoiFlipRot.Rotation);
        Assert.Equal(Flip.LeftRight, proc.RoiFlipRot.Flip);
        Assert.Equal("entry_0000", proc.Saving.NxEntryName);
        Assert.Equal(100, proc.Buffers.NbRoiStatisticsBuffer);
        Assert.Empty(GeometryValidator.Validate(proc, Eiger4M));
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 2)]
    [InlineData(16, 16)]
    [InlineData(192, 16)]
    public void Fifo_nb_threads_defaults_to_the_processor_count_within_bounds(int processors, int threads) =>
        Assert.Equal(threads, Fifo.DefaultThreads(processors));

    [Fact]
    public void A_proc_params_without_nb_threads_and_the_schema_default_use_this_machines_processors()
    {
        var expected = Math.Clamp(Environment.ProcessorCount, 2, 16);
        var proc = ProcParamsDocument.Parse("""{"class_name": "LimaProcessingLegacy"}""");
        Assert.Equal(expected, proc.Fifo.NbThreads);
        var fifo = ProcParamsDocument.Schema(ProcClassNames.Legacy)["properties"]!["fifo"]!;
        var schemaDefault = fifo["properties"]?["nb_threads"]?["default"] ?? fifo["default"]!["nb_threads"];
        Assert.Equal(expected, schemaDefault!.GetValue<int>());
    }

    [Fact]
    public void Each_pipeline_says_its_own_saving_channels_corrections_accumulation_and_geometry_step()
    {
        var legacy = new LegacyProcParams { Mask = new ReferenceImage { Enabled = true, Path = "m.npy" } };
        Assert.Equal(["saving"], legacy.DenseSavingChannels().Select(c => c.Name));
        Assert.Equal(["saving"], legacy.SavingChannels().Select(c => c.Name));
        Assert.Equal(new CorrectionImages(legacy.Background, legacy.Flatfield, legacy.Mask), legacy.Corrections());
        Assert.Same(legacy.Accumulation, legacy.FrameAccumulation());
        Assert.Same(legacy.RoiFlipRot, legacy.FrameReshaping());
        Assert.True(legacy.ServesInputFrames());

        var xpcs = new XpcsProcParams();
        Assert.Equal(["saving_dense"], xpcs.DenseSavingChannels().Select(c => c.Name));
        Assert.Equal(["saving_dense", "saving_sparse"], xpcs.SavingChannels().Select(c => c.Name));
        Assert.NotNull(xpcs.Corrections());
        Assert.Same(xpcs.Accumulation, xpcs.FrameAccumulation());
        Assert.Null(xpcs.FrameReshaping());
        Assert.True(xpcs.ServesInputFrames());

        var smx = new SmxProcParams();
        Assert.Equal(["saving_dense"], smx.DenseSavingChannels().Select(c => c.Name));
        Assert.Equal(["saving_dense", "saving_sparse", "saving_accumulation_corrected", "saving_accumulation_peak"],
            smx.SavingChannels().Select(c => c.Name));
        Assert.Null(smx.Corrections());
        Assert.Null(smx.FrameAccumulation());
        Assert.False(smx.ServesInputFrames());

        var failing = new FailingProcParams();
        Assert.Empty(failing.SavingChannels());
        Assert.Throws<NotSupportedException>(() => failing.WithDenseSaving(new SavingParams()));
    }

    [Fact]
    public void A_dense_saving_channel_put_in_place_lands_in_the_field_of_its_pipeline()
    {
        var saving = new SavingParams { Enabled = true, FilenamePrefix = "raw" };
        Assert.Equal(saving, ((LegacyProcParams)new LegacyProcParams().WithDenseSaving(saving)).Saving);
        Assert.Equal(saving, ((XpcsProcParams)new XpcsProcParams().WithDenseSaving(saving)).SavingDense);
        Assert.Equal(saving, ((SmxProcParams)new SmxProcParams().WithDenseSaving(saving)).SavingDense);
        // the shape is the pipeline's, not the document's: it is written nowhere
        Assert.DoesNotContain("channels", ParamsDocument.Write(new SmxProcParams()));
    }

    [Fact]
    public void Writing_and_reading_a_proc_params_gives_the_same_document()
    {
        var proc = ProcParamsDocument.Parse(LegacyExample);
        var text = ParamsDocument.Write(proc);
        Assert.Equal(text, ParamsDocument.Write(ProcParamsDocument.Parse(text)));
        Assert.Contains("\"nx_entry_name\":\"entry_0000\"", text);
        Assert.Contains("\"compression\":\"bshuf_lz4\"", text);
        Assert.Contains("\"nb_dimensions\":\"dim_3d_or_4d\"", text);
    }

    [Fact]
    public void Acquisition_params_round_trip_for_any_values()
    {
        var modes = Enum.GetValues<TriggerMode>();
        Prop.ForAll(
            Gen.Choose(0, 1_000_000).ToArbitrary(), Gen.Choose(1, 10_000_000).ToArbitrary(),
            Gen.Choose(0, modes.Length - 1).ToArbitrary(),
            (nbFrames, expo, mode) =>
            {
                var document = new AcqParams<SimulatorDet>
                {
                    Acq = new Acquisition { NbFrames = nbFrames, ExpoTime = expo, LatencyTime = expo / 3, TriggerMode = modes[mode] },
                };
                var text = ParamsDocument.Write(document);
                var back = ParamsDocument.Parse<AcqParams<SimulatorDet>>(text);
                return back.Acq == document.Acq && ParamsDocument.Write(back) == text;
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Proc_params_with_any_rois_round_trip()
    {
        var rects =
            from x in Gen.Choose(0, 2000)
            from y in Gen.Choose(0, 2000)
            from w in Gen.Choose(1, 500)
            from h in Gen.Choose(1, 500)
            select new RectRoi { Topleft = new Point { X = x, Y = y }, Dimensions = new Dimensions { X = w, Y = h } };
        var arcs =
            from c in Gen.Choose(-100, 2100)
            from r in Gen.Choose(0, 1000)
            from a in Gen.Choose(0, 360)
            select new ArcRoi { Center = new PointD { X = c / 3.0, Y = c / 7.0 }, R1 = r, R2 = r + 0.5, A1 = a - 0.25, A2 = a + 90 };
        Prop.ForAll(Gen.ListOf(rects).ToArbitrary(), Gen.ListOf(arcs).ToArbitrary(), (r, a) =>
        {
            var proc = new LegacyProcParams { Statistics = new Statistics { Enabled = true, RectRois = [.. r], ArcRois = [.. a] } };
            var text = ParamsDocument.Write(proc);
            var back = (LegacyProcParams)ProcParamsDocument.Parse(text);
            return ParamsDocument.Write(back) == text
                   && back.Statistics.RectRois.SequenceEqual(proc.Statistics.RectRois)
                   && back.Statistics.ArcRois.SequenceEqual(proc.Statistics.ArcRois);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Zero_exposure_is_refused_with_the_field_path()
    {
        var error = Fails(() => ParamsDocument.Parse<AcqParams<SimulatorDet>>("""{"acq": {"expo_time": 0}}"""));
        Assert.Equal("acq.expo_time: must be > 0", error.Errors.Single().ToString());
    }

    [Fact]
    public void Times_and_frame_counts_that_would_overflow_are_refused_with_their_field()
    {
        var error = Fails(() => ParamsDocument.Parse<AcqParams<SimulatorDet>>(
            """{"acq": {"expo_time": 4611686018427387904, "latency_time": 86400000001, "nb_frames": 2147483648, "nb_frames_per_trigger": 4611686018427387904}}"""));
        Assert.Equal(
            ["acq.expo_time: must be <= 86400000000", "acq.latency_time: must be <= 86400000000",
             "acq.nb_frames: must be <= 2147483647", "acq.nb_frames_per_trigger: must be <= 2147483647"],
            error.Errors.Select(e => e.ToString()).Order());
        // the bounds themselves are taken
        ParamsDocument.Parse<AcqParams<SimulatorDet>>(
            """{"acq": {"expo_time": 86400000000, "latency_time": 86400000000, "nb_frames": 2147483647, "nb_frames_per_trigger": 1}}""");
    }

    [Fact]
    public void A_key_given_twice_is_refused_with_its_path_in_acq_and_proc_params()
    {
        var acq = Fails(() => AcqParamsDocument.Parse(DetectorPlugin.Simulator,
            """{"acq": {"nb_frames": 10, "expo_time": 100, "nb_frames": 20}}"""));
        Assert.Equal("acq_params.acq.nb_frames: duplicate key: given more than once in its object", acq.Errors.Single().ToString());
        var proc = Fails(() => ProcParamsDocument.Parse(
            """{"class_name": "LimaProcessingLegacy", "statistics": {"rect_rois": [{"topleft": {"x": 1, "x": 2}}]}}"""));
        Assert.Equal("proc.statistics.rect_rois[0].topleft.x: duplicate key: given more than once in its object", proc.Errors.Single().ToString());
    }

    [Fact]
    public void Enabling_the_count_rate_protection_is_refused_as_not_supported()
    {
        var error = Fails(() => ProcParamsDocument.Parse(
            """{"class_name": "LimaProcessingLegacy", "max_countrate_protection": {"enabled": true, "max_countrate": 1000}}"""));
        Assert.Equal("proc.max_countrate_protection.enabled: count-rate protection is not supported by this server: set it false",
            error.Errors.Single().ToString());
        ProcParamsDocument.Parse("""{"class_name": "LimaProcessingLegacy", "max_countrate_protection": {"enabled": false}}""");
    }

    [Fact]
    public void Every_error_of_a_document_is_reported_at_once_with_its_path()
    {
        var error = Fails(() => ParamsDocument.Parse<AcqParams<SimulatorDet>>(
            """{"acq": {"expo_tme": 10, "nb_frames": -1, "trigger_mode": "sometimes"}, "det": {"generator": {"width": "wide"}}}"""));
        var messages = error.Errors.Select(e => e.ToString()).ToArray();

        Assert.Contains(messages, m => m.StartsWith("acq.expo_tme: unknown field (known: nb_frames, expo_time,"));
        Assert.Contains("acq.nb_frames: must be >= 0", messages);
        Assert.Contains("acq.trigger_mode: must be one of internal, software, external, gate, got \"sometimes\"", messages);
        Assert.Contains("det.generator.width: expected an integer, got the string \"wide\"", messages);
        Assert.Equal(4, messages.Length);
    }

    [Fact]
    public void Malformed_json_says_where()
    {
        var error = Fails(() => ProcParamsDocument.Parse("{\"class_name\": \"LimaProcessingLegacy\",\n \"fifo\": {"));
        Assert.StartsWith("proc: malformed JSON at line 2", error.Message);
    }

    [Fact]
    public void Proc_params_without_or_with_an_unknown_class_name_are_refused()
    {
        Assert.Equal("proc.class_name: required string field is missing",
            Fails(() => ProcParamsDocument.Parse("{}")).Message);
        Assert.StartsWith("proc.class_name: unknown processing class 'LimaProcessingFoo' (known: LimaProcessingFailing, LimaProcessingLegacy,",
            Fails(() => ProcParamsDocument.Parse("""{"class_name": "LimaProcessingFoo"}""")).Message);
    }

    [Fact]
    public void A_roi_beyond_the_frame_is_reported_with_its_index_and_the_frame_width()
    {
        var rois = Enumerable.Range(0, 3).Select(i => new RectRoi
        {
            Topleft = new Point { X = 1000 * i, Y = 0 },
            Dimensions = new Dimensions { X = 100, Y = 10 },
        }).ToArray();
        var proc = new LegacyProcParams { Statistics = new Statistics { Enabled = true, RectRois = rois } };

        var errors = GeometryValidator.Validate(proc, Eiger4M);
        Assert.Equal("proc.statistics.rect_rois[2].dimensions.x: ROI exceeds the 2048-pixel frame width",
            Assert.Single(errors).ToString());
    }

    [Fact]
    public void Arc_rois_profiles_and_saving_are_checked_for_consistency()
    {
        var proc = new LegacyProcParams
        {
            Statistics = new Statistics
            {
                ArcRois =
                [
                    new ArcRoi { R1 = 10, R2 = 5 },
                    new ArcRoi { Center = new PointD { X = 5000, Y = 5000 }, R1 = 1, R2 = 2 },
                ],
            },
            Profiles = new Profiles { Rois = [new RectRoi()], Directions = [] },
            Saving = new SavingParams { Enabled = true, FilenameFormat = "{filename_prefix}_{frame}.h5" },
            Mask = new ReferenceImage { Enabled = true },
        };
        var messages = GeometryValidator.Validate(proc, Eiger4M).Select(e => e.ToString()).ToArray();

        Assert.Contains("proc.statistics.arc_rois[0].r2: must be greater than r1 (10)", messages);
        Assert.Contains("proc.statistics.arc_rois[1]: the arc covers no pixel of the 2048x2048 frame", messages);
        Assert.Contains("proc.profiles.directions: 0 directions for 1 ROIs (one per ROI)", messages);
        Assert.Contains(messages, m => m.StartsWith("proc.saving.filename_format: unknown field {frame}"));
        Assert.Contains("proc.mask.path: required when mask is enabled", messages);
    }

    [Fact]
    public void Rois_are_checked_against_the_frame_after_binning_and_crop()
    {
        var proc = new LegacyProcParams
        {
            RoiFlipRot = new RoiFlipRot { Enabled = true, Binning = new Binning { X = 2, Y = 2 } },
            Statistics = new Statistics { RectRois = [new RectRoi { Topleft = new Point { X = 1000 }, Dimensions = new Dimensions { X = 100, Y = 1 } }] },
        };
        Assert.Equal("proc.statistics.rect_rois[0].dimensions.x: ROI exceeds the 1024-pixel frame width",
            Assert.Single(GeometryValidator.Validate(proc, Eiger4M)).ToString());
    }

    [Fact]
    public void The_schema_says_corrections_and_fai_arrays_may_be_HDF5_datasets()
    {
        var legacy = ProcParamsDocument.Schema(ProcClassNames.Legacy)["properties"]!;
        foreach (var image in new[] { "mask", "flatfield", "background" })
            Assert.Contains("file.h5:/path/to/dataset", legacy[image]!["properties"]!["path"]!["description"]!.GetValue<string>());
        var fai = ProcParamsDocument.Schema(ProcClassNames.Smx)["properties"]!["fai"]!;
        Assert.Equal("object", fai["type"]!.GetValue<string>());
        Assert.Contains("HDF5 datasets file.h5:/path/to/dataset", fai["description"]!.GetValue<string>());
    }

    [Fact]
    public void The_schema_names_the_lima2_fields_and_values()
    {
        var schema = ProcParamsDocument.Schema(ProcClassNames.Legacy);
        var saving = schema["properties"]!["saving"]!["properties"]!.AsObject();

        Assert.Equal(JsonSchemaGenerator.Draft, schema["$schema"]!.GetValue<string>());
        Assert.Equal(["class_name"], schema["required"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["none", "zip", "bshuf_lz4"], saving["compression"]!["enum"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["abort", "overwrite"], saving["file_exists_policy"]!["enum"]!.AsArray().Select(n => n!.GetValue<string>()));
        foreach (var field in new[] { "enabled", "base_path", "filename_format", "filename_prefix", "filename_rank", "filename_suffix",
                     "start_number", "nb_frames_per_file", "nb_frames_per_chunk", "nx_entry_name", "nx_instrument_name",
                     "nx_detector_name", "nb_dimensions", "include_frame_idx" })
            Assert.True(saving.ContainsKey(field), field);
        var arc = schema["properties"]!["statistics"]!["properties"]!["arc_rois"]!["items"]!["properties"]!.AsObject();
        Assert.Equal(["center", "r1", "r2", "a1", "a2"], arc.Select(p => p.Key));
        Assert.Equal("50", saving["nb_frames_per_file"]!["default"]!.ToJsonString());
        var acq = ParamsDocument.Schema<AcqParams<SimulatorDet>>()["properties"]!["acq"]!["properties"]!.AsObject();
        Assert.Equal(["nb_frames", "expo_time", "latency_time", "trigger_mode", "nb_frames_per_trigger", "experiment"], acq.Select(p => p.Key));
        Assert.Equal("0", acq["expo_time"]!["exclusiveMinimum"]!.ToJsonString());
    }

    [Fact]
    public void The_experiment_states_geometry_with_units_and_unknown_by_default_and_refuses_a_wavelength_of_zero()
    {
        var experiment = ParamsDocument.Schema<AcqParams<SimulatorDet>>()["properties"]!["acq"]!["properties"]!["experiment"]!["properties"]!.AsObject();
        Assert.Equal(["wavelength", "detector_distance", "beam_center_x", "beam_center_y", "sample_name", "instrument_name", "source_name"],
            experiment.Select(p => p.Key));
        Assert.Equal("""["number","null"]""", experiment["wavelength"]!["type"]!.ToJsonString());
        Assert.Equal("null", experiment["wavelength"]!["default"]?.ToJsonString() ?? "null");
        Assert.Contains("in Å", experiment["wavelength"]!["description"]!.GetValue<string>());
        Assert.Contains("in m", experiment["detector_distance"]!["description"]!.GetValue<string>());
        Assert.Contains("in pixels", experiment["beam_center_x"]!["description"]!.GetValue<string>());
        Assert.Equal("\"unknown\"", experiment["sample_name"]!["default"]!.ToJsonString());

        var given = ParamsDocument.Parse<AcqParams<SimulatorDet>>("""{"acq": {"experiment": {"wavelength": 0.9793, "sample_name": "thaumatin"}}}""");
        Assert.Equal(new Experiment { Wavelength = 0.9793, SampleName = "thaumatin" }, given.Acq.Experiment);
        var detector = new DetectorMetadata { Distance = 0.12, IncidentWavelength = 1.5, BeamCenterX = 3 };
        Assert.Equal(detector with { IncidentWavelength = 0.9793 }, given.Acq.Experiment.Over(detector));
        Assert.Equal(new DetectorMetadata(), new Experiment().Over(null));
        var error = Fails(() => ParamsDocument.Parse<AcqParams<SimulatorDet>>("""{"acq": {"experiment": {"wavelength": 0}}}"""));
        Assert.Equal(["acq.experiment.wavelength: must be > 0"], error.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Defaults_built_from_the_schema_parse_back_into_the_default_records()
    {
        var acq = ParamsDocument.Defaults<AcqParams<SimulatorDet>>()!.ToJsonString();
        Assert.Equal(ParamsDocument.Write(new AcqParams<SimulatorDet>()), ParamsDocument.Write(ParamsDocument.Parse<AcqParams<SimulatorDet>>(acq)));
        foreach (var name in ProcParamsDocument.ClassNames)
        {
            var proc = ProcParamsDocument.Parse(ProcParamsDocument.Defaults(name)!.ToJsonString());
            Assert.Equal(name, proc.ClassName);
            Assert.Equal(ParamsDocument.Write(Activator.CreateInstance(ProcParamsDocument.RecordType(name))), ParamsDocument.Write(proc));
        }
    }

    [Fact]
    public void The_smx_blocks_are_kept_as_raw_json_for_the_peak_finder()
    {
        var proc = Assert.IsType<SmxProcParams>(ProcParamsDocument.Parse(
            """{"class_name": "LimaProcessingSmx", "fai": {"cutoff_pick": 3.5, "error_model": "poisson"}}"""));
        Assert.Equal(3.5, proc.Fai.GetProperty("cutoff_pick").GetDouble());
        Assert.Equal(JsonValueKind.Object, proc.Gpu.ValueKind);
    }

    [Fact]
    public void Python_jsonschema_accepts_our_schemas_our_defaults_and_examples_and_refuses_bad_documents()
    {
        using var dir = new TempDir();
        var cases = new JsonArray();
        void Add(JsonObject schema, string document, bool valid) =>
            cases.Add(new JsonObject { ["schema"] = schema.DeepClone(), ["document"] = JsonNode.Parse(document), ["valid"] = valid });

        var acqSchema = ParamsDocument.Schema<AcqParams<SimulatorDet>>("acq_params");
        Add(acqSchema, ParamsDocument.Defaults<AcqParams<SimulatorDet>>()!.ToJsonString(), true);
        Add(acqSchema, """{"acq": {"expo_time": 0}}""", false);
        Add(acqSchema, """{"acq": {"expo_tme": 10}}""", false);
        foreach (var name in ProcParamsDocument.ClassNames)
            Add(ProcParamsDocument.Schema(name), ProcParamsDocument.Defaults(name)!.ToJsonString(), true);
        Add(ProcParamsDocument.Schema(ProcClassNames.Legacy), LegacyExample, true);
        Add(ProcParamsDocument.Schema(ProcClassNames.Legacy), """{"class_name": "LimaProcessingLegacy", "saving": {"compression": "gzip"}}""", false);
        Add(ProcParamsDocument.Schema(ProcClassNames.Legacy), """{"fifo": {}}""", false);
        var path = Path.Combine(dir.Path, "cases.json");
        File.WriteAllText(path, cases.ToJsonString());

        var output = Python.Eval($$"""
            import json, jsonschema
            cases = json.load(open({{JsonSerializer.Serialize(path)}}))
            for i, case in enumerate(cases):
                jsonschema.Draft202012Validator.check_schema(case["schema"])
                errors = list(jsonschema.Draft202012Validator(case["schema"]).iter_errors(case["document"]))
                print(i, "valid" if not errors else "invalid", "expected", "valid" if case["valid"] else "invalid")
            """);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(cases.Count, lines.Length);
        Assert.All(lines, line =>
        {
            var words = line.Split(' ');
            Assert.True(words[1] == words[3], line);
        });
    }

    [Fact]
    public void A_receiver_yaml_config_reads_with_sizes_and_enums()
    {
        var config = ReceiverConfig.Parse("""
            rank: 1
            nb_receivers: 2
            channel:
              kind: dectris_v1
              endpoints: [ "tcp://127.0.0.1:9999" ]
            memory_cap: 512MiB
            overload_policy: drop
            saving_root: /data
            peak_finder: opencl
            """);
        Assert.Equal(ChannelKind.DectrisV1, config.Channel.Kind);
        Assert.Equal(PeakFinderBackend.OpenCl, config.PeakFinder);
        Assert.Equal(512L << 20, config.MemoryCapBytes);
        Assert.Equal(OverloadPolicy.Drop, config.OverloadPolicy);
        Assert.Equal(config, ReceiverConfig.Parse(config.ToYaml()) with { Channel = config.Channel });
    }

    [Fact]
    public void A_bad_receiver_yaml_config_names_the_field_or_the_line()
    {
        Assert.StartsWith("config:2:1", Fails(() => ReceiverConfig.Parse("rank: 0\nmemroy_cap: 1GiB\n")).Message);
        var messages = Fails(() => ReceiverConfig.Parse("rank: 3\nnb_receivers: 2\nmemory_cap: lots\nchannel: {kind: dectris_v2}\n"))
            .Errors.Select(e => e.ToString()).ToArray();
        Assert.Contains("rank: must be in [0, 1]", messages);
        Assert.Contains(messages, m => m.StartsWith("memory_cap: 'lots' is not a positive size"));
        Assert.Contains("channel.endpoints: at least one endpoint is needed for DectrisV2", messages);
    }

    [Theory]
    [InlineData("{filename_prefix}_{filename_rank}_{file_number:05d}{filename_suffix}", "scan_3_00042.h5")]
    [InlineData("{filename_prefix}-{file_number}{filename_suffix}", "scan-42.h5")]
    [InlineData("{filename_prefix}_{file_number:4d}{filename_suffix}", "scan_  42.h5")]
    public void File_names_render_like_python_format(string format, string expected) =>
        Assert.Equal(expected, FilenameFormat.Render(format, "scan", 3, 42, ".h5"));
}

/// <summary>A temporary directory removed with everything in it.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("lima2-core-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

public class YamlAndSavingRootTests
{
    [Fact]
    public void A_yaml_proc_params_reads_like_its_json()
    {
        var yaml = """
            class_name: LimaProcessingLegacy
            fifo: {nb_fifo_frames: 16, nb_threads: 2}
            statistics:
              enabled: true
              rect_rois:
                - {topleft: {x: 1, y: 2}, dimensions: {x: 30, y: 40}}
              arc_rois:
                - {center: {x: 10.5, y: 20}, r1: 1, r2: 5, a1: -10, a2: 10}
            saving:
              enabled: yes_please
              filename_prefix: "007"
            """;
        var error = Assert.Throws<ParamsException>(() => ProcParamsDocument.Parse(YamlJson.ToJson(yaml).ToJsonString()));
        Assert.Equal("proc.saving.enabled: expected a boolean, got the string \"yes_please\"", error.Message);

        var proc = (LegacyProcParams)ProcParamsDocument.Parse(YamlJson.ToJson(yaml.Replace("yes_please", "true")).ToJsonString());
        Assert.Equal(40, proc.Statistics.RectRois[0].Dimensions.Y);
        Assert.Equal(-10, proc.Statistics.ArcRois[0].A1);
        Assert.Equal("007", proc.Saving.FilenamePrefix);
        Assert.True(proc.Saving.Enabled);
    }

    [Theory]
    [InlineData("/data/visitor", "/data/visitor/scan1", true)]
    [InlineData("/data/visitor", "scan1/raw", true)]
    [InlineData("/data/visitor", "/data/visitor", true)]
    [InlineData("/data/visitor", "/data/visitor2/scan", false)]
    [InlineData("/data/visitor", "../../etc", false)]
    [InlineData("/data/visitor", "/etc", false)]
    public void Saving_paths_must_stay_under_the_saving_root(string root, string basePath, bool allowed)
    {
        var proc = new LegacyProcParams { Saving = new SavingParams { Enabled = true, BasePath = basePath } };
        var errors = ParamsValidator.ValidateSavingRoot(proc, root);
        Assert.Equal(allowed, errors.Count == 0);
        if (!allowed)
            Assert.Equal($"proc.saving.base_path: '{basePath}' is outside the saving root {root}", errors.Single().ToString());
    }
}
