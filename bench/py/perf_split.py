"""Where the CPU of a `lima2-bench profile` run goes, per frame and per step, from a perf recording of it.

    DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 lima2-bench profile --frames 300 --runs 3 --folder /dev/shm/p &
    perf record -F 999 -g -p PID -o perf.data      # from the end of run 1 (once "run 1:" is printed) to the end
    perf script -i perf.data --pid PID -F comm,tid,ip,sym > perf.txt
    perf_split.py perf.txt --frames 600 --hz 999    # 600: the frames of runs 2 and 3

Each sample is put in the first step found from its innermost frame outwards (so a page fault taken while decoding
counts as a page fault, not as decoding), then summed by thread role (the .NET pool's workers, libzmq's I/O thread,
...). W^X off so that perf finds the JIT-compiled methods in /tmp/perf-PID.map.
"""
import argparse
import collections

# (step, what its frames contain), innermost match first; the order settles a sample that matches several
STEPS = [
    ("page faults", ["asm_exc_page_fault", "exc_page_fault"]),
    ("decode: bit-unshuffle", ["BitUntranspose", "Bitshuffle::Unshuffle"]),
    ("decode: LZ4", ["LZ4_decompress", "Lz4::Decode"]),
    ("decode: copy of the kept bslz4 bytes", ["DecodeStage::Decode"]),
    ("ROI statistics", ["RoiPass", "RoiSet", "RoiStatistics"]),
    ("chunk write (pwrite, HDF5)", ["pwrite", "H5D", "H5F", "Hdf5"]),
    ("thread pool: waiting, spinning", ["LowLevelLifoSemaphore", "LowLevelSpinWait", "SpinWait", "sched_yield", "futex"]),
    ("hand-offs (ordered stages, dataflow, tasks)",
     ["OrderedStage", "Dataflow", "FrameGraph", "GraphRuntime", "System.Threading.Channels", "ThreadPoolWorkQueue",
      "System.Threading.Tasks.Task", "ConcurrentExclusiveSchedulerPair"]),
    ("the profile command itself (its /proc sampler, deleting the run's files)", ["ProfileCommand", "ThreadTicks", "proc_pid", "proc_task"]),
    ("socket reads (libzmq)", ["zmq", "recv", "tcp_"]),
]


def role(comm):
    if comm.startswith(".NET TP Worker"):
        return "workers"
    if comm.startswith("ZMQbg/IO"):
        return "zmq I/O"
    return comm


def samples(lines):
    """(comm, frames innermost first) of each sample of `perf script -F comm,tid,ip,sym`."""
    head, frames = None, []
    for line in lines:
        if not line.strip():
            if head is not None:
                yield head, frames
            head, frames = None, []
        elif line[0] in " \t":
            frames.append(line.strip().split(" ", 1)[-1])
        else:
            head = line.strip().rsplit(" ", 1)[0]  # the name, without the thread id
    if head is not None:
        yield head, frames


def split(lines):
    by_role = collections.defaultdict(collections.Counter)
    for comm, frames in samples(lines):
        step = next((name for frame in frames for name, keys in STEPS if any(k in frame for k in keys)), None)
        by_role[role(comm)][step or "other"] += 1
    return by_role


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", help="perf script output (-F comm,tid,ip,sym)")
    parser.add_argument("--frames", type=int, required=True, help="frames the recording covers")
    parser.add_argument("--hz", type=float, default=999, help="perf record -F")
    args = parser.parse_args()
    with open(args.script, errors="replace") as f:
        by_role = split(f)
    for name, steps in sorted(by_role.items(), key=lambda r: -sum(r[1].values())):
        total = sum(steps.values())
        print(f"{name}: {total / args.hz * 1000 / args.frames:.2f} ms/frame")
        for step, count in steps.most_common():
            print(f"  {step}: {count / args.hz * 1000 / args.frames:.2f} ms/frame ({100 * count / total:.0f} %)")


if __name__ == "__main__":
    main()
