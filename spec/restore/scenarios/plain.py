# A plain process: its own comm, a counter in memory, stdout to a file.
# Restored, it keeps counting from where it was (same memory, same process).
import os, time
import scenario

scenario.setup()
with open("/proc/self/comm", "w") as f:
    f.write("crit-plain")
state = {"ticks": 0, "marker": "CRIT-RESTORE-PLAIN-" + "x" * 4000}


def check():
    scenario.expect("marker", state["marker"], "CRIT-RESTORE-PLAIN-" + "x" * 4000)
    return [("ticks", state["ticks"]), ("pid", os.getpid())]


scenario.on_report(check)
scenario.ready()
while True:
    time.sleep(0.05)
    state["ticks"] += 1
