/* The image streamer side of `criu dump --stream` and `criu restore --stream`:
 * a UNIX socket in the images directory, one request per image, a pipe per
 * image passed with SCM_RIGHTS, and the bytes moved with splice. No Lua. */
#ifndef CRIT_STREAMER_H
#define CRIT_STREAMER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum streamer_mode {
	STREAMER_CAPTURE,	/* criu dump: we read images from criu's pipes */
	STREAMER_SERVE,		/* criu restore: we fill criu's pipes */
};

/* What streamer_next() reports. */
enum streamer_event_kind {
	STREAMER_EV_TIMEOUT,
	STREAMER_EV_CONNECTED,	/* criu connected (peer_pid) */
	STREAMER_EV_DROPPED,	/* it closed having said nothing: not criu */
	STREAMER_EV_REQUEST,	/* an image asked for (serve) or offered (capture) */
	STREAMER_EV_DONE,	/* an image went through completely */
	STREAMER_EV_FAILED,	/* an image transfer broke off (err) */
	STREAMER_EV_REFUSED,	/* another connection, closed at once (peer_pid) */
	STREAMER_EV_CLOSED,	/* criu closed the connection, no transfer left */
	STREAMER_EV_ERROR,	/* the connection broke the protocol (err, what) */
};

struct streamer_event {
	enum streamer_event_kind kind;
	char name[256];		/* the image's file name (REQUEST, DONE, FAILED) */
	uint64_t bytes;		/* bytes moved (DONE, FAILED) */
	int err;		/* errno (FAILED, ERROR) */
	pid_t peer_pid;		/* CONNECTED, REFUSED */
	const char *what;	/* ERROR: what was wrong */
};

/* A piece of what is served for one image: len bytes of the source file
 * from offset, or, when data is set, those bytes (copied). */
struct streamer_piece {
	const void *data;
	uint64_t offset;
	uint64_t len;
};

struct streamer;

/* Listen on path: bound under a temporary name beside it, listening, then
 * linked to path, so that path appears only once it accepts connections and
 * an existing file at path is never replaced. NULL with errno (EEXIST: path
 * exists; *live tells whether a streamer answers there). SIGPIPE is ignored
 * from now on: criu closing a pipe must be an error, not our death. */
struct streamer *streamer_listen(const char *path, enum streamer_mode mode, int *live);
/* Close everything, remove the socket path; idempotent on NULL. */
void streamer_free(struct streamer *s);

/* Wait up to timeout_ms (-1: forever) for the next event, moving bytes
 * meanwhile. The event's name lives until the next call. */
int streamer_next(struct streamer *s, int timeout_ms, struct streamer_event *ev);

/* Answer the pending REQUEST. Serve: absent (exists = false), or pieces of
 * the file at path (NULL if every piece is data); the pipe criu then passes
 * is filled with them. Capture: write the image into path (created, must not
 * exist), or drop it (path NULL: read and discarded). 0, or -1 with errno. */
int streamer_serve_absent(struct streamer *s);
int streamer_serve(struct streamer *s, const char *path, const struct streamer_piece *pieces,
		   size_t npieces);
int streamer_capture(struct streamer *s, const char *path);

/* criu's process, seen through the connection: wait up to timeout_ms for it
 * to exit. 1 exited, 0 still running, -1 unknown (no connection yet). */
int streamer_wait_peer(struct streamer *s, int timeout_ms);
/* Transfers still running. */
size_t streamer_active(const struct streamer *s);

#endif
