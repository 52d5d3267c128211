using System.Diagnostics;
using System.Globalization;
using Lima2.Core.Parameters;
using Lima2.Detectors.Dectris.Simplon;
using Lima2.Protocol;

namespace Lima2.Server.Control;

/// <summary>
/// The Dectris plugin: an EIGER2 (or <c>lima2 stream --simplon</c>) driven over SIMPLON, its ZMQ stream read by the
/// receivers. Prepare writes the config and arms, so that the header is out and the detector ready before Start
/// (arming is the slow step, and Prepare is where Lima2 puts dead time); Start sends the trigger of internal mode;
/// Trigger sends one per software trigger; Finish disarms, Abort aborts.
/// </summary>
/// <remarks>
/// acq maps to the detector's keys: internal → <c>ints</c> with one trigger of nb_frames images; software →
/// <c>ints</c>, external → <c>exts</c>, gate → <c>exte</c>, each with nb_frames / nb_frames_per_trigger triggers of
/// nb_frames_per_trigger images; count_time = expo_time, frame_time = expo_time + latency_time (s).
/// A trigger blocks on a real detector until its images are taken, so triggers run one after the other off the
/// caller's thread; one that fails is the run's <see cref="Failure"/>.
/// </remarks>
public sealed class DectrisDetector : IDetector
{
    private static readonly TimeSpan StatePeriod = TimeSpan.FromSeconds(1);

    private readonly SimplonClient _simplon;
    private readonly Lock _lock = new();
    private readonly Stopwatch _sinceStateRead = Stopwatch.StartNew();
    private SimplonDescription? _description;
    private Task _triggers = Task.CompletedTask;
    private CancellationTokenSource _run = new();
    private TriggerMode _mode;
    private bool _armed;
    private string? _failure;

    public DectrisDetector(SimplonClient simplon)
    {
        _simplon = simplon;
    }

    public DetectorPlugin Plugin => DetectorPlugin.Dectris;

    public string Version => "dectris-1.0.0";

    /// <summary>The detector's own description (read once; re-read after a failed read).</summary>
    public string Info(IAcqParams acq)
    {
        var d = _description ??= Wait(_simplon.DescribeAsync());
        return DetectorJson.Info("Dectris", d.Description, d.DetectorNumber, d.XPixelSize, d.YPixelSize, d.Width, d.Height,
            $"gray{d.BitDepthImage.ToString(CultureInfo.InvariantCulture)}");
    }

    public string Status(AcqState state)
    {
        string Read(string key) => Wait(_simplon.GetStatusAsync(key))?.ToString() ?? "";
        return DetectorJson.Status(Read("state"),
            double.Parse(Read("humidity"), CultureInfo.InvariantCulture),
            double.Parse(Read("temperature"), CultureInfo.InvariantCulture),
            Read("high_voltage/state"));
    }

    public string Capabilities() => DetectorJson.Capabilities();

    public void Prepare(IAcqParams acq)
    {
        var a = acq.Acq;
        var det = (acq as DectrisAcqParams ?? throw new ArgumentException("acq_params: not a Dectris plugin document")).Det;
        if (a.NbFrames == 0)
            throw new ArgumentException("acq_params acq.nb_frames: 0 (endless) is not supported by the Dectris plugin: give the number of frames");
        var perTrigger = a.TriggerMode == TriggerMode.Internal ? a.NbFrames : a.NbFramesPerTrigger;
        var config = new List<(string Key, object Value)>
        {
            ("trigger_mode", a.TriggerMode switch
            {
                TriggerMode.External => "exts",
                TriggerMode.Gate => "exte",
                _ => "ints",
            }),
            ("nimages", perTrigger),
            ("ntrigger", a.NbFrames / perTrigger),
            // count_time first: the detector may stretch frame_time to fit it, and frame_time then sets the pace
            ("count_time", a.ExpoTime / 1e6),
            ("frame_time", (a.ExpoTime + a.LatencyTime) / 1e6),
            // photon_energy resets the threshold to half of it: an explicit threshold comes after
            ("photon_energy", det.PhotonEnergy),
        };
        if (det.ThresholdEnergy > 0)
            config.Add(("threshold_energy", det.ThresholdEnergy));
        config.Add(("countrate_correction_applied", det.CountrateCorrection));
        config.Add(("compression", ParamsJson.EnumName(det.Compression)));

        Abort(); // a series left armed by an earlier run would hold the stream
        Wait(_simplon.EnableStreamAsync());
        foreach (var (key, value) in config)
            Wait(_simplon.SetConfigAsync(key, value));
        Wait(_simplon.ArmAsync());
        lock (_lock)
        {
            _mode = a.TriggerMode;
            _armed = true;
            _failure = null;
            _triggers = Task.CompletedTask;
            _run = new CancellationTokenSource();
        }
    }

    public void Start()
    {
        if (_mode == TriggerMode.Internal)
            SendTrigger();
    }

    public void Trigger()
    {
        if (_mode != TriggerMode.Software)
            throw new InvalidOperationException($"Trigger: the detector is in {ParamsJson.EnumName(_mode)} trigger mode, not software");
        SendTrigger();
    }

    private void SendTrigger()
    {
        lock (_lock)
        {
            var run = _run.Token;
            _triggers = _triggers.ContinueWith(async _ =>
            {
                try
                {
                    await _simplon.TriggerAsync(run).ConfigureAwait(false);
                }
                catch (Exception e) when (!run.IsCancellationRequested)
                {
                    lock (_lock)
                        _failure ??= $"detector trigger failed: {e.Message}";
                }
                catch (Exception)
                {
                    // the run was ended or aborted: its triggers no longer matter
                }
            }, TaskScheduler.Default).Unwrap();
        }
    }

    public void Finish()
    {
        lock (_lock)
        {
            if (!_armed)
                return;
            _armed = false;
        }
        try
        {
            Wait(_simplon.DisarmAsync());
        }
        finally
        {
            _run.Cancel();
        }
    }

    /// <summary>Stops the series; a detector that is not armed takes it as a no-op.</summary>
    public void Abort()
    {
        lock (_lock)
            _armed = false;
        try
        {
            Wait(_simplon.AbortAsync());
        }
        finally
        {
            _run.Cancel();
        }
    }

    /// <summary>A failed trigger, or the detector's state <c>error</c> (read at most once a second).</summary>
    public string? Failure
    {
        get
        {
            lock (_lock)
                if (_failure is not null || !_armed || _sinceStateRead.Elapsed < StatePeriod)
                    return _failure;
            _sinceStateRead.Restart();
            string? failure;
            try
            {
                failure = Wait(_simplon.StateAsync()) == "error" ? "the detector reports state error" : null;
            }
            catch (SimplonException e)
            {
                failure = e.Message;
            }
            lock (_lock)
                return _failure ??= failure;
        }
    }

    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private static void Wait(Task task) => task.GetAwaiter().GetResult();

    public void Dispose()
    {
        _run.Cancel();
        _simplon.Dispose();
    }
}
