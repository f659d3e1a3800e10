# The protocol every restore scenario follows (spec/restore_support.lua drives it):
#   python3 NAME.py RUN_DIR   -- started by the spec, cwd RUN_DIR
#   setup(): close inherited fds, own session (so criu dumps without --shell-job)
#   ready(pid=..., key=value...): RUN_DIR/ready, "key value" lines, written atomically
#   on SIGUSR1 (after restore): RUN_DIR/report, "key value" lines from the
#   scenario's own check of its state, ending in "ok" or "fail REASON"
import os, signal, sys, time

RUN = sys.argv[1] if len(sys.argv) > 1 else "."


def setup():
    """Close inherited fds; stdin from /dev/null, stdout and stderr to RUN/stdout
    (opened here: in our mount namespace, if we have one); a session of our own."""
    os.closerange(3, 4096)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    out = os.open(os.path.join(RUN, "stdout"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
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
    # the PID criu dumps, as seen by the spec (as_user.py: outside our PID namespace)
    facts.setdefault("pid", int(os.environ.get("CRIT_SCENARIO_PID", os.getpid())))
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


# Short naps, not one long sleep: a signal that lands between Python's check
# for signals and its next sleep waits for that sleep to end, and right after
# a restore the process is just there (it resumes its interrupted sleep).
NAP = 0.1


def idle():
    while True:
        time.sleep(NAP)
