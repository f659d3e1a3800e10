/* Replace a file atomically: write a temporary file in the same directory,
 * fsync it, rename it over the target. Until commit, the target is untouched. */
#ifndef CRIT_ATOMIC_H
#define CRIT_ATOMIC_H

struct atomic_file {
	int fd;		/* -1 when closed */
	char tmp[4096];	/* empty once committed or removed */
	char dest[4096];
};

void atomic_init(struct atomic_file *a);
int atomic_open(struct atomic_file *a, const char *path);  /* 0, or -1 with errno */
int atomic_commit(struct atomic_file *a);		  /* fsync + rename; -1 with errno */
void atomic_abort(struct atomic_file *a);		  /* close and remove; idempotent */

#endif
