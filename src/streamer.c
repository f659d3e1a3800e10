/* The image streamer protocol (criu/img-streamer.c): criu connects to the
 * socket, sends a size-prefixed img_streamer_request_entry per image and a
 * pipe end (one dummy byte carrying SCM_RIGHTS). On restore it first waits
 * for an img_streamer_reply_entry saying whether the image exists. Every
 * pipe is pumped at once from one poll loop: criu writes pagemap-N and
 * pages-N together, and reads from several images at a time. */
#define _GNU_SOURCE /* splice, accept4, F_SETPIPE_SZ, MSG_CMSG_CLOEXEC */
#include "streamer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "img-streamer.pb-c.h"

/* A request is a file name: anything much larger is not criu talking. */
#define MAX_REQUEST 4096
#define MAX_FDS 16
#define MAX_EVENTS 8
/* Bytes moved per pipe per wakeup before the others get their turn. */
#define CHUNK (1u << 20)
#define BURST (8u << 20)
#define PIPE_SIZE (16 << 20)

enum conn_state {
	WANT_REQUEST,	/* reading the next request */
	WANT_FD,	/* reading the pipe that goes with it */
	WANT_ANSWER,	/* the caller must answer the request */
};

struct transfer {
	int pipe;	/* criu's pipe: written (serve) or read (capture) */
	int file;	/* the source (serve) or destination (capture), or -1 */
	struct streamer_piece *pieces; /* with their data, in one allocation */
	size_t npieces, cur;
	uint64_t done;	/* of the current piece */
	uint64_t bytes;
	char name[256];
};

struct streamer {
	enum streamer_mode mode;
	int listen_fd, conn, pidfd;
	pid_t peer;
	int had_conn, eof, closed_reported;
	size_t requests;	/* received on this connection */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	enum conn_state state;
	char request[256];
	uint8_t in[MAX_REQUEST + 64];
	size_t in_len;
	int fdq[MAX_FDS];
	size_t nfd;
	int pending_pipe;		/* capture: the pipe of the pending request */
	struct transfer *prepared;	/* serve: waiting for its pipe */
	struct transfer **xfer;
	size_t nxfer, cap;
	struct pollfd *pfd;
	size_t pfd_cap;
	struct streamer_event ev[MAX_EVENTS];
	size_t ev_head, ev_len;
	uint8_t scratch[64 * 1024];
};

static int sun_path_of(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a->sun_path, path);
	return 0;
}

/* Whether something accepts connections at path. */
static int socket_is_live(const char *path)
{
	struct sockaddr_un a;
	int fd, live;

	if (sun_path_of(&a, path) < 0)
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	live = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return live;
}

/* Bind under "DIR/.crit-sock-PID-N", listen, then link to path. */
static int listen_at(struct streamer *s, const char *path, int *live)
{
	struct sockaddr_un a;
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	struct stat st;
	int fd, n, saved;

	*live = 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	for (n = 0;; n++) {
		char tmp[sizeof(a.sun_path) + 64];

		snprintf(tmp, sizeof(tmp), "%.*s.crit-sock-%ld-%d", dirlen, path, (long)getpid(), n);
		if (sun_path_of(&a, tmp) < 0 || sun_path_of(&a, path) < 0)
			goto fail;
		sun_path_of(&a, tmp);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		if (errno != EADDRINUSE || n > 100)
			goto fail;
	}
	if (listen(fd, 4) < 0 || link(a.sun_path, path) < 0) {
		saved = errno;
		unlink(a.sun_path);
		if (saved == EEXIST)
			*live = socket_is_live(path);
		errno = saved;
		goto fail;
	}
	unlink(a.sun_path);
	if (stat(path, &st) < 0)
		goto fail;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	strcpy(s->path, path);
	s->listen_fd = fd;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

struct streamer *streamer_listen(const char *path, enum streamer_mode mode, int *live)
{
	struct streamer *s = calloc(1, sizeof(*s));

	*live = 0;
	if (!s)
		return NULL;
	s->mode = mode;
	s->conn = s->pidfd = s->pending_pipe = -1;
	s->state = WANT_REQUEST;
	if (listen_at(s, path, live) < 0) {
		int saved = errno;

		free(s);
		errno = saved;
		return NULL;
	}
	signal(SIGPIPE, SIG_IGN);
	return s;
}

static void transfer_free(struct transfer *t)
{
	if (!t)
		return;
	if (t->pipe >= 0)
		close(t->pipe);
	if (t->file >= 0)
		close(t->file);
	free(t->pieces);
	free(t);
}

void streamer_free(struct streamer *s)
{
	struct stat st;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nxfer; i++)
		transfer_free(s->xfer[i]);
	transfer_free(s->prepared);
	for (i = 0; i < s->nfd; i++)
		close(s->fdq[i]);
	if (s->pending_pipe >= 0)
		close(s->pending_pipe);
	if (s->conn >= 0)
		close(s->conn);
	if (s->pidfd >= 0)
		close(s->pidfd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	/* only our socket: someone may have put another file there since */
	if (s->path[0] && stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	free(s->xfer);
	free(s->pfd);
	free(s);
}

static struct streamer_event *push_event(struct streamer *s, enum streamer_event_kind kind,
					 const char *name)
{
	struct streamer_event *e = &s->ev[(s->ev_head + s->ev_len++) % MAX_EVENTS];

	memset(e, 0, sizeof(*e));
	e->kind = kind;
	if (name)
		snprintf(e->name, sizeof(e->name), "%s", name);
	return e;
}

static void protocol_error(struct streamer *s, const char *what, int err)
{
	struct streamer_event *e = push_event(s, STREAMER_EV_ERROR, NULL);

	e->what = what;
	e->err = err;
	s->eof = 1;	/* nothing more is read from this connection */
	s->closed_reported = 1;
}

/* ------------------------------------------------------------------ */
/* Transfers. */

static int add_transfer(struct streamer *s, struct transfer *t)
{
	if (s->nxfer == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct transfer **x = realloc(s->xfer, cap * sizeof(*x));

		if (!x)
			return -1;
		s->xfer = x;
		s->cap = cap;
	}
	s->xfer[s->nxfer++] = t;
	return 0;
}

static void prepare_pipe(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE) < 0)
		fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

static void finish_transfer(struct streamer *s, size_t i, int err)
{
	struct transfer *t = s->xfer[i];
	struct streamer_event *e = push_event(s, err ? STREAMER_EV_FAILED : STREAMER_EV_DONE, t->name);

	e->bytes = t->bytes;
	e->err = err;
	if (!err && s->mode == STREAMER_CAPTURE && t->file >= 0 && close(t->file) < 0) {
		e->kind = STREAMER_EV_FAILED;
		e->err = errno;
	}
	if (s->mode == STREAMER_CAPTURE)
		t->file = -1;
	s->xfer[i] = s->xfer[--s->nxfer];
	transfer_free(t);
}

/* Serve: copy a file range into the pipe, by splice, or by pread and write
 * where the source cannot splice. */
static ssize_t serve_file_chunk(struct streamer *s, struct transfer *t, uint64_t off, size_t len)
{
	loff_t pos = (loff_t)off;
	ssize_t n = splice(t->file, &pos, t->pipe, NULL, len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);

	if (n >= 0 || errno != EINVAL)
		return n;
	if (len > sizeof(s->scratch))
		len = sizeof(s->scratch);
	n = pread(t->file, s->scratch, len, (off_t)off);
	if (n <= 0)
		return n;
	/* a pipe takes a write of up to PIPE_BUF whole or not at all; a
	 * larger one may be cut short, and the rest is read again next time */
	return write(t->pipe, s->scratch, (size_t)n);
}

/* 1 when finished, 0 to wait for room in the pipe, -errno on failure. */
static int pump_serve(struct streamer *s, struct transfer *t)
{
	uint64_t moved = 0;

	while (t->cur < t->npieces && moved < BURST) {
		const struct streamer_piece *p = &t->pieces[t->cur];
		uint64_t left = p->len - t->done;
		size_t len = left > CHUNK ? CHUNK : (size_t)left;
		ssize_t n;

		if (left == 0) {
			t->cur++;
			t->done = 0;
			continue;
		}
		if (p->data)
			n = write(t->pipe, (const uint8_t *)p->data + t->done, len);
		else
			n = serve_file_chunk(s, t, p->offset + t->done, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		if (n == 0)
			return -EIO; /* the source file is shorter than planned */
		t->done += (uint64_t)n;
		t->bytes += (uint64_t)n;
		moved += (uint64_t)n;
	}
	return t->cur == t->npieces;
}

/* Capture: pipe to file by splice; read and write where that fails. */
static int pump_capture(struct streamer *s, struct transfer *t)
{
	uint64_t moved = 0;

	while (moved < BURST) {
		ssize_t n = -1;

		if (t->file >= 0)
			n = splice(t->pipe, NULL, t->file, NULL, CHUNK, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (t->file < 0 || (n < 0 && errno == EINVAL)) {
			n = read(t->pipe, s->scratch, sizeof(s->scratch));
			if (n > 0 && t->file >= 0) {
				ssize_t w = write(t->file, s->scratch, (size_t)n);

				if (w != n)
					return w < 0 ? -errno : -EIO;
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		if (n == 0)
			return 1;
		t->bytes += (uint64_t)n;
		moved += (uint64_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The connection. */

static void accept_connection(struct streamer *s)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	pid_t pid = 0;

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		pid = cred.pid;
	if (s->had_conn) {
		close(fd); /* criu sees its requests fail: one dump or restore at a time */
		push_event(s, STREAMER_EV_REFUSED, NULL)->peer_pid = pid;
		return;
	}
	s->had_conn = 1;
	s->conn = fd;
	s->peer = pid;
	if (pid > 0)
		s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	push_event(s, STREAMER_EV_CONNECTED, NULL)->peer_pid = pid;
}

static void receive(struct streamer *s)
{
	char control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct iovec iov = { s->in + s->in_len, sizeof(s->in) - s->in_len };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	ssize_t n;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof(control);
	n = recvmsg(s->conn, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			s->eof = 1;
		return;
	}
	if (n == 0 && s->requests == 0 && s->in_len == 0) {
		/* a connection that said nothing is not criu (a check that a
		 * streamer listens here): wait for the real one */
		close(s->conn);
		if (s->pidfd >= 0)
			close(s->pidfd);
		s->conn = s->pidfd = -1;
		s->had_conn = 0;
		push_event(s, STREAMER_EV_DROPPED, NULL)->peer_pid = s->peer;
		s->peer = 0;
		return;
	}
	if (n == 0) {
		s->eof = 1;
		return;
	}
	s->in_len += (size_t)n;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t k, nfd;
		int *fds = (int *)CMSG_DATA(c);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < nfd; k++) {
			if (s->nfd < MAX_FDS)
				s->fdq[s->nfd++] = fds[k];
			else
				close(fds[k]);
		}
	}
	if (msg.msg_flags & MSG_CTRUNC)
		protocol_error(s, "too many file descriptors at once", 0);
}

static void consume(struct streamer *s, size_t n)
{
	memmove(s->in, s->in + n, s->in_len - n);
	s->in_len -= n;
}

static int pop_fd(struct streamer *s)
{
	int fd = s->fdq[0];

	memmove(s->fdq, s->fdq + 1, (s->nfd - 1) * sizeof(int));
	s->nfd--;
	return fd;
}

/* Take the next request out of the input, if it is all there. */
static void parse_request(struct streamer *s)
{
	ImgStreamerRequestEntry *req;
	uint32_t size;

	if (s->in_len < 4)
		return;
	memcpy(&size, s->in, 4); /* criu frames in host order: same machine */
	if (size > MAX_REQUEST) {
		protocol_error(s, "a request larger than 4096 bytes: not criu?", 0);
		return;
	}
	if (s->in_len < 4 + (size_t)size)
		return;
	req = img_streamer_request_entry__unpack(NULL, size, s->in + 4);
	if (!req || !req->filename || !req->filename[0] || strlen(req->filename) >= sizeof(s->request)) {
		if (req)
			img_streamer_request_entry__free_unpacked(req, NULL);
		protocol_error(s, "a request that is not an img_streamer_request_entry", 0);
		return;
	}
	snprintf(s->request, sizeof(s->request), "%s", req->filename);
	s->requests++;
	img_streamer_request_entry__free_unpacked(req, NULL);
	consume(s, 4 + (size_t)size);
	if (s->mode == STREAMER_CAPTURE) {
		s->state = WANT_FD;
	} else {
		s->state = WANT_ANSWER;
		push_event(s, STREAMER_EV_REQUEST, s->request);
	}
}

/* The pipe that follows a request (its one dummy byte carries it). */
static void parse_fd(struct streamer *s)
{
	int fd;

	if (s->in_len < 1 || s->nfd < 1)
		return;
	consume(s, 1);
	fd = pop_fd(s);
	prepare_pipe(fd);
	if (s->mode == STREAMER_CAPTURE) {
		s->pending_pipe = fd;
		s->state = WANT_ANSWER;
		push_event(s, STREAMER_EV_REQUEST, s->request);
		return;
	}
	s->prepared->pipe = fd;
	if (add_transfer(s, s->prepared) < 0) {
		transfer_free(s->prepared);
		protocol_error(s, "out of memory", ENOMEM);
	}
	s->prepared = NULL;
	s->state = WANT_REQUEST;
}

static void parse_input(struct streamer *s)
{
	for (;;) {
		enum conn_state before = s->state;
		size_t len = s->in_len;

		if (s->closed_reported)
			return;
		if (s->state == WANT_REQUEST)
			parse_request(s);
		else if (s->state == WANT_FD)
			parse_fd(s);
		if (s->state == before && s->in_len == len)
			return;
	}
}

/* ------------------------------------------------------------------ */
/* Answers. */

static int send_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd w = { fd, POLLOUT, 0 };

				poll(&w, 1, 1000);
				continue;
			}
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_reply(struct streamer *s, int exists)
{
	ImgStreamerReplyEntry reply = IMG_STREAMER_REPLY_ENTRY__INIT;
	uint8_t frame[16];
	uint32_t size;

	reply.exists = exists != 0;
	size = (uint32_t)img_streamer_reply_entry__get_packed_size(&reply);
	memcpy(frame, &size, 4);
	img_streamer_reply_entry__pack(&reply, frame + 4);
	return send_all(s->conn, frame, 4 + size);
}

static int must_answer(struct streamer *s, enum streamer_mode mode)
{
	if (s->mode != mode || s->state != WANT_ANSWER) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int streamer_serve_absent(struct streamer *s)
{
	if (must_answer(s, STREAMER_SERVE) < 0)
		return -1;
	s->state = WANT_REQUEST;
	return send_reply(s, 0);
}

/* A transfer owning a copy of the pieces and their data. */
static struct transfer *new_transfer(const char *name, const struct streamer_piece *pieces,
				     size_t npieces)
{
	struct transfer *t = calloc(1, sizeof(*t));
	size_t i, data = 0;
	uint8_t *copy;

	if (!t)
		return NULL;
	t->pipe = t->file = -1;
	snprintf(t->name, sizeof(t->name), "%s", name);
	for (i = 0; i < npieces; i++)
		if (pieces[i].data)
			data += pieces[i].len;
	t->pieces = malloc(npieces * sizeof(*pieces) + data + 1);
	if (!t->pieces) {
		free(t);
		return NULL;
	}
	copy = (uint8_t *)(t->pieces + npieces);
	for (i = 0; i < npieces; i++) {
		t->pieces[i] = pieces[i];
		if (pieces[i].data) {
			memcpy(copy, pieces[i].data, pieces[i].len);
			t->pieces[i].data = copy;
			copy += pieces[i].len;
		}
	}
	t->npieces = npieces;
	return t;
}

int streamer_serve(struct streamer *s, const char *path, const struct streamer_piece *pieces,
		   size_t npieces)
{
	struct transfer *t;

	if (must_answer(s, STREAMER_SERVE) < 0)
		return -1;
	t = new_transfer(s->request, pieces, npieces);
	if (!t)
		return -1;
	if (path && (t->file = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		int saved = errno;

		transfer_free(t);
		errno = saved;
		return -1;
	}
	if (send_reply(s, 1) < 0) {
		int saved = errno;

		transfer_free(t);
		errno = saved;
		return -1;
	}
	s->prepared = t;
	s->state = WANT_FD;
	return 0;
}

int streamer_capture(struct streamer *s, const char *path)
{
	struct transfer *t;

	if (must_answer(s, STREAMER_CAPTURE) < 0)
		return -1;
	t = new_transfer(s->request, NULL, 0);
	if (!t)
		return -1;
	if (path && (t->file = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		int saved = errno;

		transfer_free(t);
		errno = saved;
		return -1;
	}
	t->pipe = s->pending_pipe;
	if (add_transfer(s, t) < 0) {
		t->pipe = -1;
		transfer_free(t);
		return -1;
	}
	s->pending_pipe = -1;
	s->state = WANT_REQUEST;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The loop. */

static int reading_connection(const struct streamer *s)
{
	return s->conn >= 0 && !s->eof && s->state != WANT_ANSWER;
}

static struct pollfd *poll_set(struct streamer *s, size_t *n)
{
	size_t need = s->nxfer + 2, i, k = 0;
	short dir = s->mode == STREAMER_SERVE ? POLLOUT : POLLIN;

	if (need > s->pfd_cap) {
		struct pollfd *p = realloc(s->pfd, need * sizeof(*p));

		if (!p)
			return NULL;
		s->pfd = p;
		s->pfd_cap = need;
	}
	s->pfd[k++] = (struct pollfd){ s->listen_fd, POLLIN, 0 };
	s->pfd[k++] = (struct pollfd){ reading_connection(s) ? s->conn : -1, POLLIN, 0 };
	for (i = 0; i < s->nxfer; i++)
		s->pfd[k++] = (struct pollfd){ s->xfer[i]->pipe, dir, 0 };
	*n = k;
	return s->pfd;
}

/* The connection is over once criu closed it and nothing is in flight. */
static void check_closed(struct streamer *s)
{
	if (!s->eof || s->closed_reported || s->nxfer > 0 || s->state == WANT_ANSWER)
		return;
	s->closed_reported = 1;
	transfer_free(s->prepared); /* answered, but criu never sent the pipe */
	s->prepared = NULL;
	push_event(s, STREAMER_EV_CLOSED, NULL);
}

static void pump_all(struct streamer *s, const struct pollfd *pfd)
{
	size_t i = s->nxfer;

	/* backwards: finish_transfer moves the last transfer into slot i */
	while (i-- > 0) {
		struct transfer *t = s->xfer[i];
		int r;

		if (s->ev_len == MAX_EVENTS)
			return;
		if (!pfd[i + 2].revents)
			continue;
		r = s->mode == STREAMER_SERVE ? pump_serve(s, t) : pump_capture(s, t);
		if (r == 0 && (pfd[i + 2].revents & (POLLERR | POLLHUP)) && s->mode == STREAMER_SERVE)
			r = -EPIPE;
		if (r != 0)
			finish_transfer(s, i, r < 0 ? -r : 0);
	}
}

int streamer_next(struct streamer *s, int timeout_ms, struct streamer_event *ev)
{
	for (;;) {
		struct pollfd *pfd;
		size_t n;
		int r;

		check_closed(s);
		if (s->ev_len > 0) {
			*ev = s->ev[s->ev_head];
			s->ev_head = (s->ev_head + 1) % MAX_EVENTS;
			s->ev_len--;
			return 0;
		}
		pfd = poll_set(s, &n);
		if (!pfd)
			return -1;
		r = poll(pfd, n, timeout_ms);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0) {
			memset(ev, 0, sizeof(*ev));
			ev->kind = STREAMER_EV_TIMEOUT;
			return 0;
		}
		if (r < 0)
			continue;
		pump_all(s, pfd);
		if (s->ev_len > MAX_EVENTS - 2)
			continue; /* the rest is seen again by the next poll */
		if (pfd[0].revents & POLLIN)
			accept_connection(s);
		if (pfd[1].revents) {
			receive(s);
			parse_input(s);
		}
	}
}

int streamer_wait_peer(struct streamer *s, int timeout_ms)
{
	struct pollfd p;

	if (s->pidfd < 0)
		return -1;
	p.fd = s->pidfd;
	p.events = POLLIN;
	p.revents = 0;
	return poll(&p, 1, timeout_ms) > 0 ? 1 : 0;
}

size_t streamer_active(const struct streamer *s)
{
	return s->nxfer;
}
