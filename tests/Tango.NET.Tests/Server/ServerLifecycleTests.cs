using Tango.NET.Tests.Fixtures;

namespace Tango.NET.Tests.Server;

/// <summary>How a C# server stops: each test starts its own TangoNetTest.</summary>
public sealed class ServerLifecycleTests
{
    private static readonly TimeSpan Exit = TimeSpan.FromSeconds(15);

    [Fact]
    public void SIGTERM_shuts_the_server_down_cleanly()
    {
        using var server = new TangoNetTestServer("sigterm");
        server.Process.Signal(15);
        Assert.Equal(0, server.Process.WaitForExit(Exit));
    }

    [Fact]
    public void Repeated_signals_shut_down_once_and_SIGHUP_is_ignored()
    {
        using var server = new TangoNetTestServer("signals");
        server.Process.Signal(1);
        Thread.Sleep(300);
        Assert.False(server.Process.HasExited, server.Process.Output);
        server.Process.Signal(15);
        server.Process.Signal(2);
        server.Process.Signal(15);
        Assert.Equal(0, server.Process.WaitForExit(Exit));
    }

    [Fact]
    public void SIGTERM_while_a_csharp_thread_pushes_events_stops_the_pusher_before_the_device_goes()
    {
        using var server = new TangoNetTestServer("pushing");
        Lima2.TestSupport.Python.Eval("import tango; tango.DeviceProxy('tango://127.0.0.1:" + server.Port + "/"
            + TangoNetTestServer.DeviceName + "#dbase=no').command_inout('PushEvents', 100000)");
        Thread.Sleep(300);
        server.Process.Signal(15);
        Assert.Equal(0, server.Process.WaitForExit(Exit));
    }

    [Fact]
    public void SIGINT_stops_a_server_that_was_started_with_SIGINT_ignored_like_a_background_job()
    {
        var port = Lima2.TestSupport.FreePort.Next();
        var command = $"trap '' INT; exec '{TangoNetTestServer.Executable}' bgjob -nodb -dlist {TangoNetTestServer.DeviceName} "
                      + $"-ORBendPoint giop:tcp:127.0.0.1:{port}";
        using var server = Lima2.TestSupport.ChildProcess.Start("/bin/bash", ["-c", command]);
        server.WaitForOutput("Ready to accept request", TimeSpan.FromSeconds(20));
        server.Signal(2);
        Assert.Equal(0, server.WaitForExit(Exit));
    }

    [Fact]
    public void With_a_file_database_devices_and_properties_come_from_the_file()
    {
        var file = Path.GetTempFileName();
        try
        {
            // cppTango's file database wants a device list for every class of the server
            File.WriteAllText(file, """
                TangoNetTest/filetest/DEVICE/TangoNetTest: "sys/tg_test/7"
                TangoNetTest/filetest/DEVICE/TangoNetDynamic: "test/dynfile/1"
                TangoNetTest/filetest/DEVICE/TangoNetConfigured: "test/cfgfile/1"
                sys/tg_test/7->UShort_image_ro_size: 32
                test/dynfile/1->Label: "from file"
                test/cfgfile/1->Address: "det9:1"

                """); // the parser wants the last line ended
            var port = Lima2.TestSupport.FreePort.Next();
            using var server = Lima2.TestSupport.ChildProcess.Start(TangoNetTestServer.Executable,
                ["filetest", $"-file={file}", "-ORBendPoint", $"giop:tcp:127.0.0.1:{port}"],
                new Dictionary<string, string?> { ["TANGO_HOST"] = null });
            server.WaitForOutput("Ready to accept request", TimeSpan.FromSeconds(20));
            var output = Lima2.TestSupport.Python.Eval(
                $"import tango; p = lambda n: tango.DeviceProxy('tango://127.0.0.1:{port}/' + n + '#dbase=no'); "
                + "print(p('sys/tg_test/7').read_attribute('ushort_image_ro').value.shape, p('test/dynfile/1').label, "
                + "p('test/cfgfile/1').address)");
            Assert.Contains("(32, 32) from file det9:1", output); // a mandatory property set in the file is enough
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Without_a_DB_dlist_gives_each_device_to_the_class_its_prefix_names_and_the_rest_to_the_first_class()
    {
        var port = Lima2.TestSupport.FreePort.Next();
        using var server = Lima2.TestSupport.ChildProcess.Start(TangoNetTestServer.Executable,
            ["dlist", "-nodb", "-dlist", "TangoNetDynamic::test/dlist/1,sys/tg_test/8,tangonetdynamic::test/dlist/2",
             "-ORBendPoint", $"giop:tcp:127.0.0.1:{port}"]);
        server.WaitForOutput("Ready to accept request", TimeSpan.FromSeconds(20));
        var output = Lima2.TestSupport.Python.Eval(
            $"import tango; p = lambda n: tango.DeviceProxy('tango://127.0.0.1:{port}/' + n + '#dbase=no'); "
            + "print([p(n).info().dev_class for n in ('test/dlist/1', 'sys/tg_test/8', 'test/dlist/2')], "
            + "sorted(p('dserver/TangoNetTest/dlist').command_inout('QueryDevice')), p('test/dlist/2').status())");
        Assert.Contains("['TangoNetDynamic', 'TangoNetTest', 'TangoNetDynamic'] "
            + "['TangoNetDynamic::test/dlist/1', 'TangoNetDynamic::test/dlist/2', 'TangoNetTest::sys/tg_test/8'] "
            + "test/dlist/2 holds 0", output);
    }

    [Fact]
    public void The_admin_device_Kill_command_ends_the_process_with_exit_code_0()
    {
        using var server = new TangoNetTestServer("kill");
        server.Check("kill", server.AdminName);
        Assert.Equal(0, server.Process.WaitForExit(Exit));
    }

    [Fact]
    public void Init_reruns_the_devices_Init_and_DevRestart_builds_a_new_device_object()
    {
        using var server = new TangoNetTestServer("restart");
        var result = server.Check("lifecycle", null, server.AdminName);
        var afterInit = result.GetProperty("after Init");
        Assert.Equal(5.0, afterInit[0].GetDouble()); // same C# object: the written value stays
        Assert.Equal("RUNNING", afterInit[1].GetString()); // Init ran again: FAULT from SwitchStates is gone
        Assert.Equal(1.5, result.GetProperty("after DevRestart")[0].GetDouble()); // a fresh object: the default
        var devices = result.GetProperty("devices");
        Assert.Equal(devices[0].ToString(), devices[1].ToString());
    }

    /// <summary>A server of its own: the Init command writes memorized attributes back, which other checks set.</summary>
    [Fact]
    public void Init_and_Delete_failures_reach_the_client_through_the_devices_error_hook()
    {
        using var server = new TangoNetTestServer("lifecycle-errors");
        var result = server.Check("lifecycle_errors");
        (string, string, string) First(string member)
        {
            var e = result.GetProperty(member)[0];
            return (e.GetProperty("reason").GetString()!, e.GetProperty("desc").GetString()!, e.GetProperty("origin").GetString()!);
        }
        Assert.Equal(("TangoNetTest_HardwareFault", "Init: Init failed on purpose", "TangoNetTest::Init"), First("Init"));
        Assert.Equal(("TangoNetTest_HardwareFault", "Delete: Delete failed on purpose", "TangoNetTest::Delete"), First("Delete"));
        Assert.Equal("RUNNING", result.GetProperty("after").GetString()); // the next Init works
    }
}
