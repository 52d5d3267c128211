using Lima2.Acquisition.Tests.Saving;
using Lima2.Core.Parameters;
using NLog;
using NLog.Config;
using NLog.Targets;

namespace Lima2.Acquisition.Tests;

/// <summary>The end of a run as its listeners hear it.</summary>
public sealed class ReceiverRunEndTests : IDisposable
{
    private readonly SavingFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_listener_that_fails_is_logged_with_its_error_and_the_others_still_hear_the_end()
    {
        var log = new MemoryTarget { Layout = "${level}|${message}|${exception:format=message}" };
        var logging = new LoggingConfiguration();
        logging.AddRuleForAllLevels(log, typeof(ReceiverRun).FullName!);
        var previous = LogManager.Configuration;
        LogManager.Configuration = logging;
        try
        {
            var settings = new ReceiverSettings(new ReceiverConfig { MemoryCap = "1MiB", SavingRoot = _folder.Root },
                new AcqParams<SimulatorDet>(), new LegacyProcParams());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await using var run = await ReceiverRun.PrepareAsync(settings, new ScriptedChannel(SavingFolder.Info, 2), timeout.Token);
            var heard = false;
            run.Finished += _ => throw new InvalidOperationException("the event queue is closed");
            run.Finished += _ => heard = true;

            var summary = await run.RunAsync(timeout.Token);

            Assert.Null(summary.Error);
            Assert.True(heard);
            Assert.Equal("Error|receiver 0: a listener of the end of the run failed|the event queue is closed", Assert.Single(log.Logs));
        }
        finally
        {
            LogManager.Configuration = previous;
        }
    }
}
