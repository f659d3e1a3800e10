# A process in its own mount namespace with a file open on a mount that is
# external to the dump (spec/restore/faults_spec.lua dumps it with
# --external mnt[...]): the restorer must say what to mount there again.
# Restored, the file still reads what the restorer's mount holds.
import os
import scenario

scenario.setup()
path = os.path.join(scenario.RUN, "ext", "data")
with open(path, "w") as f:
    f.write("CRIT-FAULTS-EXTERNAL-MOUNT\n")
held = open(path)


def check():
    held.seek(0)
    scenario.expect("external file", held.read(), "CRIT-FAULTS-EXTERNAL-MOUNT\n")
    return [("fd", held.fileno())]


scenario.on_report(check)
scenario.ready(mountpoint=os.path.join(scenario.RUN, "ext"), fd=held.fileno())
scenario.idle()
