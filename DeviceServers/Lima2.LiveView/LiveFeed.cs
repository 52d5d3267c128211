using System.Diagnostics;

namespace Lima2.LiveView;

/// <summary>One sample of a device's counters, with the frame rate since the sample before.</summary>
/// <param name="Time">seconds since the feed started</param>
/// <param name="Sequence">1, 2, ...: a page that saw sample n waits for n + 1</param>
/// <param name="FrameRate">frames processed per second since the previous sample</param>
public sealed record LiveSample(long Sequence, double Time, LiveCounters Counters, double FrameRate);

/// <summary>
/// Samples a source's counters at a fixed period and keeps only the newest sample and a bounded history (for the
/// page's plots): a page or a scraper that reads slowly skips samples, nothing queues up for it, and the source is
/// read at the feed's rate however many clients watch.
/// </summary>
public sealed class LiveFeed : IDisposable
{
    /// <summary>Samples kept for the plots: a minute at the default 4 Hz.</summary>
    public const int HistoryLength = 240;

    private readonly ILiveSource _source;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Queue<LiveSample> _history = new();
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private TaskCompletionSource<LiveSample> _next = NewWaiter();
    private LiveSample _latest;
    private string? _problem;

    public LiveFeed(ILiveSource source, TimeSpan period)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(period, TimeSpan.FromMilliseconds(10));
        _source = source;
        Period = period;
        // the first sample at the first tick: a source may take a moment to read (a control asks its receivers),
        // which the device's Init does not wait for
        _latest = new LiveSample(0, 0, LiveCounters.None, 0);
        _sampling = Task.Run(SampleAsync);
    }

    public TimeSpan Period { get; }

    /// <summary>Why the last reading of the source failed; null when it succeeded.</summary>
    public string? Problem => Volatile.Read(ref _problem);

    public LiveSample Latest
    {
        get
        {
            lock (_lock)
                return _latest;
        }
    }

    /// <summary>The samples kept, oldest first.</summary>
    public LiveSample[] History()
    {
        lock (_lock)
            return [.. _history];
    }

    /// <summary>The first sample newer than <paramref name="seen"/>: the latest one if there is one already, else the
    /// next to come.</summary>
    public Task<LiveSample> NextAsync(long seen, CancellationToken cancellationToken)
    {
        lock (_lock)
            return _latest.Sequence > seen ? Task.FromResult(_latest) : _next.Task.WaitAsync(cancellationToken);
    }

    private async Task SampleAsync()
    {
        using var timer = new PeriodicTimer(Period);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
                Sample();
        }
        catch (OperationCanceledException)
        {
            // disposed
        }
    }

    private void Sample()
    {
        LiveCounters counters;
        try
        {
            counters = _source.ReadCounters();
        }
        catch (Exception e)
        {
            // the page and /status say it; the next tick reads the source again
            Volatile.Write(ref _problem, $"{e.GetType().Name}: {e.Message}");
            return;
        }
        Volatile.Write(ref _problem, null);
        TaskCompletionSource<LiveSample> waiters;
        LiveSample sample;
        lock (_lock)
        {
            var time = _clock.Elapsed.TotalSeconds;
            var previous = _latest;
            // a new run restarts the counters: its first sample has no rate
            var rate = previous.Sequence > 0 && previous.Counters.Run == counters.Run && time > previous.Time
                ? Math.Max(0, counters.Processed - previous.Counters.Processed) / (time - previous.Time)
                : 0;
            sample = new LiveSample(previous.Sequence + 1, time, counters, rate);
            _latest = sample;
            _history.Enqueue(sample);
            if (_history.Count > HistoryLength)
                _history.Dequeue();
            waiters = _next;
            _next = NewWaiter();
        }
        waiters.SetResult(sample);
    }

    private static TaskCompletionSource<LiveSample> NewWaiter() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _sampling.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // its failure was the sampling's own; nothing left to release
        }
        _stop.Dispose();
    }
}
