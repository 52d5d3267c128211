using Lima2.Protocol;
using NLog;

namespace Lima2.Server.Tests;

/// <summary>The server's log file: where it goes, that it follows no planted link, and what is recorded in it.</summary>
[Collection(nameof(ServerLogTests))] // the log configuration is the process's: one test at a time
public sealed class ServerLogTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("lima2-log-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_link_planted_where_the_log_file_goes_is_not_followed_and_its_target_is_untouched()
    {
        var victim = Path.Combine(_folder, "victim");
        File.WriteAllText(victim, "precious");
        File.CreateSymbolicLink(Path.Combine(_folder, ServerLog.FileName("x")), victim);

        var error = Assert.Throws<UnauthorizedAccessException>(() => ServerLog.Open(_folder, "x"));

        Assert.Contains("symbolic link", error.Message);
        Assert.Equal("precious", File.ReadAllText(victim));
    }

    [Fact]
    public void The_log_folder_is_LIMA2_LOG_DIR_and_never_tmp_by_default()
    {
        var saved = Environment.GetEnvironmentVariable(ServerLog.FolderVariable);
        try
        {
            Environment.SetEnvironmentVariable(ServerLog.FolderVariable, _folder);
            Assert.Equal(_folder, ServerLog.Folder());
            Environment.SetEnvironmentVariable(ServerLog.FolderVariable, null);
            Assert.False(ServerLog.Folder().StartsWith("/tmp", StringComparison.Ordinal), ServerLog.Folder());
        }
        finally
        {
            Environment.SetEnvironmentVariable(ServerLog.FolderVariable, saved);
        }
    }

    [Fact]
    public void Messages_after_the_configuration_is_set_again_as_Tango_NET_does_are_still_recorded()
    {
        var target = ServerLog.Open(_folder, "again");
        var config = LogManager.Configuration ?? new NLog.Config.LoggingConfiguration();
        config.AddRule(NLog.LogLevel.Info, NLog.LogLevel.Fatal, target);
        LogManager.Configuration = config;
        try
        {
            LogManager.Configuration = LogManager.Configuration; // TangoLogTarget.Install adds its rule and sets it again
            LogManager.GetLogger("Lima2.Server.Receiver").Warn("after the second set");
        }
        finally
        {
            LogManager.Configuration!.RemoveTarget(target.Name);
            LogManager.ReconfigExistingLoggers();
        }
        Assert.Contains("WARN  Lima2.Server.Receiver after the second set", File.ReadAllText(Path.Combine(_folder, ServerLog.FileName("again"))));
    }

    [Fact]
    public void Refusals_failures_with_their_traces_and_faults_are_recorded_while_clients_get_no_trace()
    {
        var target = ServerLog.Open(_folder, "x");
        var config = LogManager.Configuration ?? new NLog.Config.LoggingConfiguration();
        config.AddRule(NLog.LogLevel.Info, NLog.LogLevel.Fatal, target);
        LogManager.Configuration = config;
        string refused, failed;
        try
        {
            refused = LimaFailure.From(Thrown(new StateException("Start needs the pipeline prepared")), "id00/limacontrol/sim/Start").Errors[0].Description;
            failed = LimaFailure.From(Thrown(new IOException("the stream broke")), "id00/limareceiver/sim@0/Prepare").Errors[0].Description;
            var receiver = new FakeReceiver("id00/limareceiver/sim@0");
            var control = new Control.ControlLogic([receiver]);
            control.Prepare(ControlLogicTests.Uuid); // the run the fake receiver is on
            control.Start();
            receiver.State = AcqState.Fault;
            control.Poll();
            Assert.Equal(AcqState.Fault, control.State);
        }
        finally
        {
            LogManager.Configuration!.RemoveTarget(target.Name);
            LogManager.ReconfigExistingLoggers();
        }

        var log = File.ReadAllText(Path.Combine(_folder, ServerLog.FileName("x")));
        Assert.Contains("WARN  Lima2.Server.Errors id00/limacontrol/sim/Start refused: Start needs the pipeline prepared", log);
        Assert.Contains("ERROR Lima2.Server.Errors id00/limareceiver/sim@0/Prepare failed: the stream broke", log);
        Assert.Contains("at Lima2.Server.Tests.ServerLogTests.Thrown", log); // the full trace is in the log
        Assert.Contains("ERROR Lima2.Server.Faults FAULT: receiver id00/limareceiver/sim@0 failed", log);
        foreach (var payload in new[] { refused, failed })
        {
            Assert.DoesNotContain("stacktrace", payload);
            Assert.DoesNotContain(".cs", payload);
        }
    }

    private static Exception Thrown(Exception error)
    {
        try
        {
            throw error;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
