# A UTS namespace (started under unshare --uts) with its own hostname.
import socket
import scenario

scenario.setup()
NAME = "crit-restore-uts"
socket.sethostname(NAME)


def check():
    scenario.expect("hostname", socket.gethostname(), NAME)
    return [("hostname", NAME)]


scenario.on_report(check)
scenario.ready(hostname=NAME)
scenario.idle()
