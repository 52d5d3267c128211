using System.Text.Json;
using Lima2.Protocol;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>
/// The old lima2.client's sequence (§5.2 of the interface note) against control + 2 receivers, by py/lima2_client_sequence.py:
/// Prepare and Start sent to every device at once (the control forwards them too), acq_state change events,
/// nb_frames_xferred data-ready events then Close, the FAULT handler reading last_error, re-prepare, software trigger,
/// documents built from the schemas in the Tango DB, and a second client.
/// </summary>
[Collection(nameof(ClassSchemasCollection))]
public sealed class ClientSequenceTests(SystemFixture fixture) : IClassFixture<SystemFixture>
{
    private static readonly string[] Idle = ["idle", "idle", "idle"];

    [Fact]
    public void The_old_clients_sequence_runs_every_pipeline_on_schema_defaults_and_handles_fault_reprepare_trigger_and_a_second_client()
    {
        var sys = fixture.System;
        var output = Python.Run(Path.Combine(AppContext.BaseDirectory, "py", "lima2_client_sequence.py"),
            [sys.Control, string.Join(",", sys.Receivers), sys.Root], TimeSpan.FromSeconds(240), EmbeddedTangoDb.Environment);
        var s = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(Idle, Strings(s.GetProperty("initial_states")));

        foreach (var cls in new[] { "LimaProcessingLegacy", "LimaProcessingSmx", "LimaProcessingXpcs" })
            AssertComplete(s.GetProperty("defaults").GetProperty(cls), 12, cls);

        // radius1d and radius2d_mask of a real SMX processing device: pyFAI's bin centres and radius map, NaN where masked
        var radius = s.GetProperty("smx_radius");
        AssertComplete(radius.GetProperty("run"), 12, "SMX with a radius map");
        Assert.Equal([1, 1, 16], radius.GetProperty("radius1d_shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([1, 48, 64], radius.GetProperty("radius2d_shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("float32", radius.GetProperty("radius1d_dtype").GetString());
        Assert.Equal("float32", radius.GetProperty("radius2d_dtype").GetString());
        Assert.True(radius.GetProperty("mask_matches").GetBoolean());
        Assert.InRange(radius.GetProperty("radius1d_max_rel_error").GetDouble(), 0, 1e-6);
        Assert.InRange(radius.GetProperty("radius2d_max_rel_error").GetDouble(), 0, 1e-6);

        var fault = s.GetProperty("fault");
        var faults = fault.GetProperty("faults").EnumerateArray().Select(f => (Device: f[0].GetString()!, Error: f[1].GetString()!)).ToList();
        Assert.Contains(faults, f => f.Device == sys.Receivers[0] || f.Device == sys.Receivers[1]);
        Assert.All(faults, f => Assert.False(string.IsNullOrEmpty(LimaError.Parse(f.Error)?.What), $"{f.Device}: {f.Error}"));
        Assert.Equal("fault", Strings(fault.GetProperty("states"))[0]);
        Assert.Contains("failed", LimaError.Parse(fault.GetProperty("ctrl_last_error").GetString()!)!.What);
        Assert.All(Strings(fault.GetProperty("recv_last_errors")), e => Assert.NotNull(LimaError.Parse(e)));
        Assert.Equal(Idle, Strings(fault.GetProperty("after_reset")));
        Assert.Equal(LimaError.NoError, fault.GetProperty("ctrl_last_error_after_reset").GetString());

        var reprepare = s.GetProperty("reprepare");
        var second = reprepare.GetProperty("uuid").GetString()!;
        Assert.Equal(["prepared", "prepared", "prepared"], Strings(reprepare.GetProperty("states_prepared")));
        Assert.All(reprepare.GetProperty("pipelines").EnumerateArray(), p => Assert.Equal([second], Strings(p)));
        Assert.Equal([second, second], Strings(reprepare.GetProperty("current_pipeline")));
        AssertComplete(reprepare, 12, "re-prepared run");

        AssertComplete(s.GetProperty("software_trigger"), 7, "software trigger");

        var two = s.GetProperty("two_clients");
        var refusals = Strings(two.GetProperty("refusals"));
        Assert.Equal(3, refusals.Length);
        Assert.All(refusals, r => Assert.Contains("is running, one run at a time", r));
        var startError = two.GetProperty("start_error").GetString()!;
        Assert.Contains($"receiver {sys.Receivers[1]} is on run", startError);
        Assert.Equal("fault", Strings(two.GetProperty("states"))[0]);
        Assert.Equal(startError, LimaError.Parse(two.GetProperty("ctrl_last_error").GetString()!)!.What);

        var reset = s.GetProperty("reset_prepared");
        Assert.Equal([true, true], reset.GetProperty("is_finished").EnumerateArray().Select(e => e.GetBoolean()));
        Assert.Equal(2, reset.GetProperty("events").GetInt32());
        Assert.Equal(Idle, Strings(reset.GetProperty("states")));

        Assert.Equal(Idle, Strings(s.GetProperty("final_states")));
    }

    /// <summary>Every frame arrived and was told by both receivers' data-ready events; no FAULT anywhere.</summary>
    private static void AssertComplete(JsonElement run, int frames, string what)
    {
        Assert.True(run.GetProperty("all_xferred_events").GetBoolean(), $"{what}: {run}");
        Assert.Equal(frames, run.GetProperty("xferred").EnumerateArray().Sum(x => x.GetInt64()));
        Assert.Equal(frames, run.GetProperty("nb_frames_acquired").GetInt64());
        Assert.Equal(Idle, Strings(run.GetProperty("states")));
        Assert.Empty(run.GetProperty("faults").EnumerateArray());
        Assert.Equal(LimaError.NoError, run.GetProperty("ctrl_last_error").GetString());
    }

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];
}
