# The protocol every restore scenario follows (spec/restore_support.lua drives it):
#   python3 NAME.py RUN_DIR   -- started by the spec, cwd RUN_DIR
#   setup(): close inherited fds, own session (so criu dumps without --shell-job)
#   ready(pid=..., key=value...): RUN_DIR/ready, "key value" lines, written atomically
#   on SIGUSR1 (after restore): RUN_DIR/report, "key value" lines from the
#   scenario's own check of its state, ending in "ok" or "fail REASON"
import os, signal, sys, time

RUN = sys.argv[1] if len(sys.argv) > 1 else "."


def setup():
    os.closerange(3, 4096)
    try:
        os.setsid()
    except OSError:
        pass  # already a session leader


def write_atomically(name, lines):
    tmp = os.path.join(RUN, name + ".tmp")
    with open(tmp, "w") as f:
        f.write("".join("%s\n" % l for l in lines))
    os.rename(tmp, os.path.join(RUN, name))


def ready(**facts):
    facts.setdefault("pid", os.getpid())
    write_atomically("ready", ["%s %s" % kv for kv in facts.items()])


def on_report(check):
    """check() returns a list of (key, value) and raises AssertionError on a loss."""
    def handler(signum, frame):
        lines = []
        try:
            for k, v in check():
                lines.append("%s %s" % (k, v))
            lines.append("ok")
        except Exception as e:  # reported, not raised: the spec shows it
            lines.append("fail %s: %s" % (type(e).__name__, e))
        write_atomically("report", lines)
    signal.signal(signal.SIGUSR1, handler)


def expect(what, got, want):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))
    return got


def idle():
    while True:
        time.sleep(3600)
