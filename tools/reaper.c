/* reaper: run a command as a child subreaper, so that every orphan of the
 * test run (a tree criu dumped and killed, a tree criu restored with -d)
 * becomes our child and is reaped at once, not late by init. When the
 * command ends, every descendant still alive is killed and reaped, and the
 * reaper exits with the command's status.
 *
 *   build/reaper CMD [ARG...]     exports CRIT_REAPER=<its pid> to CMD
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t command_pid;

/* Ctrl-C or a CI timeout stops the command, which then ends the run. */
static void forward_signal(int sig)
{
	if (command_pid > 0)
		kill((pid_t)command_pid, sig);
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	char *close_paren;
	int ppid = 0;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	/* comm may hold spaces and parentheses: the fields follow the last ')'. */
	close_paren = strrchr(buf, ')');
	if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
		return 0;
	return (pid_t)ppid;
}

/* SIGKILL our direct children; their own children then become ours, so
 * repeating this until nothing is left ends the whole tree. */
static int kill_children(void)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;
	pid_t self = getpid();
	int n = 0;

	if (!proc)
		return 0;
	while ((d = readdir(proc)) != NULL) {
		pid_t pid = (pid_t)atoi(d->d_name);

		if (pid > 0 && parent_of(pid) == self && kill(pid, SIGKILL) == 0)
			n++;
	}
	closedir(proc);
	return n;
}

static void reap_leftovers(void)
{
	int rounds;

	for (rounds = 0; rounds < 1000; rounds++) {
		kill_children();
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			return;
		usleep(10000);
	}
	fprintf(stderr, "reaper: descendants still alive after 10 s\n");
}

int main(int argc, char **argv)
{
	char self[32];
	int status = 0;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: reaper CMD [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
		perror("reaper: PR_SET_CHILD_SUBREAPER");
		return 2;
	}
	snprintf(self, sizeof self, "%d", (int)getpid());
	setenv("CRIT_REAPER", self, 1);

	pid = fork();
	if (pid < 0) {
		perror("reaper: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "reaper: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	command_pid = pid;
	signal(SIGINT, forward_signal);
	signal(SIGTERM, forward_signal);
	signal(SIGHUP, forward_signal);

	for (;;) {
		int st;
		pid_t done = waitpid(-1, &st, 0);

		if (done == pid) {
			status = st;
			break;
		}
		if (done < 0 && errno != EINTR) {
			perror("reaper: waitpid");
			return 2;
		}
	}
	reap_leftovers();
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
