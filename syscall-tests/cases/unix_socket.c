/* AF_UNIX sockets: socket and socketpair (types, flags, error paths),
 * stream, datagram and seqpacket semantics, abstract and path names
 * (bind, listen, connect, accept4, getsockname, getpeername), shutdown and
 * close as poll and reads see them, MSG_PEEK, MSG_DONTWAIT, MSG_TRUNC,
 * MSG_NOSIGNAL and SIGPIPE, SCM_RIGHTS and SCM_CREDENTIALS between
 * processes, the SOL_SOCKET options, blocking accept and recv woken by
 * another process.
 *
 * Abstract names carry the pid (the native run shares the host's
 * namespace); path names live in a fresh /dev/shm/ward-unix-PID, removed at
 * the end. Every group runs as a scenario (proc.h) under a deadline. */
#include "tap.h"
#include "proc.h"

#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

static char dir[64];

/* An abstract address "\0ward-PID-tag"; returns its length. */
static socklen_t abstract_addr(struct sockaddr_un *a, const char *tag)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "ward-%d-%s",
		     (int)getpid(), tag);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* A path address dir/name; returns its length (with the NUL). */
static socklen_t path_addr(struct sockaddr_un *a, const char *name)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, name);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

static int revents(int fd, short events)
{
	struct pollfd p = { fd, events, 0 };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

static int intopt(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) == -1)
		return -2;
	return v;
}

static void creation(void *arg)
{
	int fd, sv[2];

	(void)arg;
	S_CHECK_ERR("a family past AF_MAX is EAFNOSUPPORT",
		    socket(99, SOCK_STREAM, 0), EAFNOSUPPORT);
	S_CHECK_ERR("a type past SOCK_MAX is EINVAL",
		    socket(AF_UNIX, 12, 0), EINVAL);
	S_CHECK_ERR("unknown type flags are EINVAL",
		    socket(AF_UNIX, SOCK_STREAM | 0x10, 0), EINVAL);
	S_CHECK_ERR("SOCK_RDM is ESOCKTNOSUPPORT for AF_UNIX",
		    socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT);
	S_CHECK_ERR("a foreign protocol is EPROTONOSUPPORT",
		    socket(AF_UNIX, SOCK_STREAM, 6), EPROTONOSUPPORT);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	S_OK(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK) &&
		     (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	     "SOCK_NONBLOCK and SOCK_CLOEXEC take effect");
	S_EQ("SO_TYPE", intopt(fd, SO_TYPE), SOCK_STREAM);
	S_EQ("SO_DOMAIN", intopt(fd, SO_DOMAIN), AF_UNIX);
	S_EQ("SO_ACCEPTCONN of a fresh socket", intopt(fd, SO_ACCEPTCONN), 0);
	S_EQ("SO_ERROR of a fresh socket", intopt(fd, SO_ERROR), 0);
	S_CHECK_ERR("getsockopt of an unknown option is ENOPROTOOPT",
		    getsockopt(fd, SOL_SOCKET, 9999, &sv[0],
			       &(socklen_t){ sizeof(int) }),
		    ENOPROTOOPT);
	{
		struct stat st;

		S_OK(fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode),
		     "fstat of a socket says S_IFSOCK");
	}
	S_CHECK_ERR("a socket call on a non-socket is ENOTSOCK",
		    listen(0 == fd ? 1 : open("/dev/null", O_RDONLY), 1),
		    ENOTSOCK);
	S_CHECK_ERR("recv on an unconnected stream socket is EINVAL",
		    recv(fd, sv, 1, 0), EINVAL);
	S_CHECK_ERR("send on an unconnected stream socket is ENOTCONN",
		    send(fd, "x", 1, MSG_NOSIGNAL), ENOTCONN);
	S_CHECK_ERR("getpeername unconnected is ENOTCONN",
		    getpeername(fd, NULL, &(socklen_t){ 0 }), ENOTCONN);
	S_CHECK_ERR("listen on an unbound socket is EINVAL", listen(fd, 1),
		    EINVAL);
	S_OK(revents(fd, POLLIN | POLLOUT) == (POLLOUT | POLLHUP),
	     "an unconnected stream socket polls POLLOUT|POLLHUP");
	close(fd);
	S_CHECK_ERR("socketpair with a bad type is EINVAL",
		    socketpair(AF_UNIX, 12, 0, sv), EINVAL);
}

static void stream_pair(void *arg)
{
	int sv[2], st;
	char buf[16];
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct sockaddr_un a;

	(void)arg;
	S_CHECK_OK("socketpair(SOCK_STREAM)",
		   socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	S_CHECK("write to one end", write(sv[0], "hello", 5), 5, 0);
	S_CHECK("MSG_PEEK sees the bytes", recv(sv[1], buf, 3, MSG_PEEK), 3,
		0);
	S_CHECK("a read takes them across sends",
		(write(sv[0], "!", 1), read(sv[1], buf, sizeof(buf))), 6, 0);
	S_OK(memcmp(buf, "hello!", 6) == 0, "in order");
	S_CHECK_ERR("MSG_DONTWAIT on an empty socket is EAGAIN",
		    recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN);
	S_OK(revents(sv[1], POLLIN | POLLOUT) == POLLOUT,
	     "an idle connected socket polls POLLOUT only");
	S_OK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
		     cr.pid == getpid() && cr.uid == geteuid() &&
		     cr.gid == getegid(),
	     "SO_PEERCRED names this process");
	len = sizeof(a);
	S_OK(getsockname(sv[0], (struct sockaddr *)&a, &len) == 0 &&
		     len == sizeof(sa_family_t) && a.sun_family == AF_UNIX,
	     "an unbound socket's name is the family alone");
	S_CHECK_OK("shutdown(SHUT_WR)", shutdown(sv[0], SHUT_WR));
	S_EQ("the peer polls POLLIN|POLLRDHUP",
	     revents(sv[1], POLLIN | POLLRDHUP), POLLIN | POLLRDHUP);
	S_CHECK("the peer reads EOF", read(sv[1], buf, 1), 0, 0);
	S_CHECK_ERR("a send after SHUT_WR is EPIPE",
		    send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	S_CHECK("the other direction still works",
		(write(sv[1], "y", 1), read(sv[0], buf, 1)), 1, 0);
	S_CHECK_ERR("shutdown with a bad how is EINVAL", shutdown(sv[0], 7),
		    EINVAL);
	close(sv[0]);
	st = revents(sv[1], POLLIN | POLLOUT);
	S_OK((st & POLLHUP) && (st & POLLIN),
	     "after the peer closes: POLLHUP and POLLIN");
	S_CHECK_ERR("a send to a closed peer is EPIPE (MSG_NOSIGNAL)",
		    send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
	close(sv[1]);
}

static void packets(void *arg)
{
	int d[2], s[2];
	char buf[16];
	struct iovec iov = { buf, 2 };
	struct msghdr m = { 0 };

	(void)arg;
	S_CHECK_OK("socketpair(SOCK_DGRAM)",
		   socketpair(AF_UNIX, SOCK_DGRAM, 0, d));
	send(d[0], "abc", 3, 0);
	send(d[0], "de", 2, 0);
	S_CHECK("a datagram read returns one message", recv(d[1], buf, 16, 0),
		3, 0);
	S_CHECK("and the next", recv(d[1], buf, 16, 0), 2, 0);
	send(d[0], "abcdef", 6, 0);
	S_CHECK("MSG_TRUNC returns the full length",
		recv(d[1], buf, 2, MSG_TRUNC), 6, 0);
	S_CHECK_ERR("the rest was discarded", recv(d[1], buf, 16, MSG_DONTWAIT),
		    EAGAIN);
	send(d[0], "abcdef", 6, 0);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	S_OK(recvmsg(d[1], &m, 0) == 2 && (m.msg_flags & MSG_TRUNC),
	     "recvmsg of a long datagram sets MSG_TRUNC");
	S_CHECK("an empty datagram is a message", send(d[0], "", 0, 0), 0, 0);
	S_CHECK("and reads as 0", recv(d[1], buf, 16, MSG_DONTWAIT), 0, 0);
	S_EQ("SO_TYPE of a datagram socket", intopt(d[0], SO_TYPE), SOCK_DGRAM);
	close(d[0]);
	close(d[1]);
	S_CHECK_OK("socketpair(SOCK_SEQPACKET)",
		   socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s));
	send(s[0], "one", 3, 0);
	send(s[0], "two!", 4, 0);
	S_CHECK("seqpacket keeps boundaries", recv(s[1], buf, 16, 0), 3, 0);
	S_CHECK("seqpacket truncates", recv(s[1], buf, 2, 0), 2, 0);
	S_CHECK_ERR("and drops the rest", recv(s[1], buf, 16, MSG_DONTWAIT),
		    EAGAIN);
	close(s[0]);
	S_CHECK("seqpacket reads EOF after the peer closes",
		recv(s[1], buf, 16, 0), 0, 0);
	close(s[1]);
}

static void abstract_names(void *arg)
{
	struct sockaddr_un a, b, got;
	socklen_t alen, blen, len;
	int l, l2, c, c2, s, d;
	char buf[8];

	(void)arg;
	alen = abstract_addr(&a, "listen");
	blen = abstract_addr(&b, "nobody");
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	S_CHECK_OK("bind to an abstract name", bind(l, (void *)&a, alen));
	S_CHECK_ERR("binding a bound socket is EINVAL",
		    bind(l, (void *)&b, blen), EINVAL);
	l2 = socket(AF_UNIX, SOCK_STREAM, 0);
	S_CHECK_ERR("a taken name is EADDRINUSE", bind(l2, (void *)&a, alen),
		    EADDRINUSE);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	S_CHECK_ERR("connect before listen is ECONNREFUSED",
		    connect(c, (void *)&a, alen), ECONNREFUSED);
	S_CHECK_ERR("connect to an unbound name is ECONNREFUSED",
		    connect(c, (void *)&b, blen), ECONNREFUSED);
	S_CHECK_OK("listen", listen(l, 0));
	S_EQ("SO_ACCEPTCONN of a listener", intopt(l, SO_ACCEPTCONN), 1);
	fcntl(l, F_SETFL, O_NONBLOCK);
	S_CHECK_ERR("accept with nothing pending is EAGAIN",
		    accept(l, NULL, NULL), EAGAIN);
	S_EQ("an idle listener polls nothing", revents(l, POLLIN | POLLOUT), 0);
	S_CHECK_OK("connect", connect(c, (void *)&a, alen));
	S_EQ("a pending connection makes the listener readable",
	     revents(l, POLLIN), POLLIN);
	c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	S_CHECK_ERR("a full backlog refuses a nonblocking connect (EAGAIN)",
		    connect(c2, (void *)&a, alen), EAGAIN);
	len = sizeof(got);
	s = accept4(l, (void *)&got, &len, SOCK_CLOEXEC);
	S_OK(s >= 0 && (fcntl(s, F_GETFD) & FD_CLOEXEC),
	     "accept4(SOCK_CLOEXEC)");
	S_EQ("accept reports an unbound peer by its family alone", len,
	     sizeof(sa_family_t));
	S_CHECK_ERR("accept4 with bad flags is EINVAL",
		    accept4(l, NULL, NULL, 0x4), EINVAL);
	S_CHECK_ERR("connecting a connected socket is EISCONN",
		    connect(c, (void *)&a, alen), EISCONN);
	len = sizeof(got);
	S_OK(getpeername(c, (void *)&got, &len) == 0 && len == alen &&
		     memcmp(&got, &a, alen) == 0,
	     "getpeername of the client is the listener's name");
	len = sizeof(got);
	S_OK(getsockname(s, (void *)&got, &len) == 0 && len == alen &&
		     memcmp(&got, &a, alen) == 0,
	     "getsockname of the accepted socket is the listener's name");
	S_CHECK("data flows client to server",
		(write(c, "ping", 4), read(s, buf, sizeof(buf))), 4, 0);
	S_CHECK("and back", (write(s, "pong", 4), read(c, buf, sizeof(buf))),
		4, 0);
	d = socket(AF_UNIX, SOCK_DGRAM, 0);
	blen = abstract_addr(&b, "dgram");
	bind(d, (void *)&b, blen);
	S_CHECK_ERR("a stream connect to a datagram name is ECONNREFUSED",
		    connect(c2, (void *)&b, blen), ECONNREFUSED);
	S_CHECK_ERR("listen on a datagram socket is EOPNOTSUPP", listen(d, 1),
		    EOPNOTSUPP);
	S_CHECK("sendto a bound datagram name",
		sendto(socket(AF_UNIX, SOCK_DGRAM, 0), "dg", 2, 0, (void *)&b,
		       blen),
		2, 0);
	S_CHECK("arrives", recv(d, buf, sizeof(buf), MSG_DONTWAIT), 2, 0);
	S_CHECK_ERR("sendto on a connected stream socket is EISCONN",
		    sendto(c, "x", 1, 0, (void *)&b, blen), EISCONN);
	{
		int x = socket(AF_UNIX, SOCK_STREAM, 0);

		len = sizeof(got);
		S_OK(bind(x, (void *)&got, sizeof(sa_family_t)) == 0 &&
			     getsockname(x, (void *)&got, &len) == 0 &&
			     len == 8 && got.sun_path[0] == 0,
		     "binding the family alone autobinds an abstract name");
		close(x);
	}
	close(l);
	S_CHECK_ERR("a connect after the listener closed is ECONNREFUSED",
		    connect(socket(AF_UNIX, SOCK_STREAM, 0), (void *)&a, alen),
		    ECONNREFUSED);
}

static void path_names(void *arg)
{
	struct sockaddr_un a, got;
	socklen_t alen, len;
	struct stat st;
	int l, c, s, f;

	(void)arg;
	alen = path_addr(&a, "sock");
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	S_CHECK_OK("bind to a path", bind(l, (void *)&a, alen));
	S_OK(stat(a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode),
	     "bind made a socket file");
	S_CHECK_ERR("a second bind to the path is EADDRINUSE",
		    bind(socket(AF_UNIX, SOCK_STREAM, 0), (void *)&a, alen),
		    EADDRINUSE);
	len = sizeof(got);
	S_OK(getsockname(l, (void *)&got, &len) == 0 && len == alen &&
		     strcmp(got.sun_path, a.sun_path) == 0,
	     "getsockname returns the path");
	S_CHECK_ERR("open of a socket file is ENXIO",
		    open(a.sun_path, O_RDWR), ENXIO);
	listen(l, 4);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	S_CHECK_OK("connect by path", connect(c, (void *)&a, alen));
	s = accept(l, NULL, NULL);
	S_CHECK("data flows", (write(c, "p", 1), read(s, &got, 1)), 1, 0);
	alen = path_addr(&a, "missing");
	S_CHECK_ERR("connect to a missing path is ENOENT",
		    connect(socket(AF_UNIX, SOCK_STREAM, 0), (void *)&a, alen),
		    ENOENT);
	alen = path_addr(&a, "file");
	f = open(a.sun_path, O_CREAT | O_WRONLY, 0600);
	close(f);
	S_CHECK_ERR("connect to a regular file is ECONNREFUSED",
		    connect(socket(AF_UNIX, SOCK_STREAM, 0), (void *)&a, alen),
		    ECONNREFUSED);
	unlink(a.sun_path);
	close(l);
	alen = path_addr(&a, "sock");
	S_CHECK_ERR("connect to a socket file nobody listens on is ECONNREFUSED",
		    connect(socket(AF_UNIX, SOCK_STREAM, 0), (void *)&a, alen),
		    ECONNREFUSED);
	unlink(a.sun_path);
	S_CHECK_ERR("bind under a missing directory is ENOENT",
		    bind(socket(AF_UNIX, SOCK_STREAM, 0),
			 (void *)&a, path_addr(&a, "no/sock")),
		    ENOENT);
}

/* Sends fd over sock with SCM_RIGHTS. */
static int send_fd(int sock, int fd)
{
	char c = 'F';
	struct iovec iov = { &c, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { 0 };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return (int)sendmsg(sock, &m, 0);
}

static void rights(void *arg)
{
	int sv[2], p[2], got = -1, st;
	char c, buf[8];
	struct iovec iov = { &c, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { 0 };
	struct cmsghdr *cm;
	pid_t pid;

	(void)arg;
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pid = fork();
	if (pid == 0) {
		if (pipe(p) == -1 || write(p[1], "hello", 5) != 5)
			_exit(1);
		_exit(send_fd(sv[1], p[0]) == 1 ? 0 : 2);
	}
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	S_CHECK("recvmsg of a message with a file", recvmsg(sv[0], &m,
							    MSG_CMSG_CLOEXEC),
		1, 0);
	cm = CMSG_FIRSTHDR(&m);
	S_OK(cm && cm->cmsg_level == SOL_SOCKET &&
		     cm->cmsg_type == SCM_RIGHTS &&
		     cm->cmsg_len == CMSG_LEN(sizeof(int)),
	     "it carries SCM_RIGHTS with one fd");
	if (cm)
		memcpy(&got, CMSG_DATA(cm), sizeof(int));
	S_OK(got >= 0 && (fcntl(got, F_GETFD) & FD_CLOEXEC),
	     "the fd is installed here, close-on-exec by MSG_CMSG_CLOEXEC");
	S_CHECK("it reads what the sender's pipe held", read(got, buf, 5), 5,
		0);
	S_OK(reap(pid, &st, 2000) == 1 && st == EXITED(0),
	     "the sender exited cleanly");
	/* Too small a control buffer: MSG_CTRUNC. */
	send_fd(sv[1], 0);
	m.msg_controllen = sizeof(struct cmsghdr);
	S_OK(recvmsg(sv[0], &m, 0) == 1 && (m.msg_flags & MSG_CTRUNC),
	     "a control buffer too small for the fd sets MSG_CTRUNC");
	S_CHECK_ERR("SCM_RIGHTS with a bad fd is EBADF", send_fd(sv[1], 999),
		    EBADF);
}

static void credentials(void *arg)
{
	int sv[2], on = 1, st;
	char c, cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { 0 };
	struct cmsghdr *cm;
	struct ucred cr = { 0 };
	pid_t pid;

	(void)arg;
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	S_CHECK_OK("SO_PASSCRED on", setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED,
					       &on, sizeof(on)));
	S_EQ("SO_PASSCRED reads back", intopt(sv[0], SO_PASSCRED), 1);
	pid = fork();
	if (pid == 0)
		_exit(send(sv[1], "c", 1, 0) == 1 ? 0 : 1);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = sizeof(cbuf);
	S_CHECK("recvmsg", recvmsg(sv[0], &m, 0), 1, 0);
	cm = CMSG_FIRSTHDR(&m);
	if (cm && cm->cmsg_type == SCM_CREDENTIALS)
		memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
	S_OK(cm && cm->cmsg_level == SOL_SOCKET &&
		     cm->cmsg_type == SCM_CREDENTIALS,
	     "SCM_CREDENTIALS arrives with SO_PASSCRED");
	S_OK(cr.pid == pid && cr.uid == getuid() && cr.gid == getgid(),
	     "naming the sending process");
	S_OK(reap(pid, &st, 2000) == 1 && st == EXITED(0),
	     "the sender exited cleanly");
	{
		int x = 0, y;

		y = setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &(int){ 65536 },
			       sizeof(int));
		x = intopt(sv[0], SO_RCVBUF);
		S_OK(y == 0 && x == 131072, "SO_RCVBUF reads back doubled");
	}
}

static void blocking(void *arg)
{
	struct sockaddr_un a;
	socklen_t alen = abstract_addr(&a, "block");
	int l, s, st, ep, sv[2];
	char buf[4];
	struct epoll_event ev = { .events = EPOLLIN };
	pid_t pid;

	(void)arg;
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(l, (void *)&a, alen);
	listen(l, 8);
	ep = epoll_create1(0);
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	pid = fork();
	if (pid == 0) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);

		sleep_ms(20);
		if (connect(c, (void *)&a, alen) != 0)
			_exit(1);
		_exit(write(c, "abc", 3) == 3 ? 0 : 2);
	}
	S_CHECK("epoll_wait wakes for a pending connection",
		epoll_wait(ep, &ev, 1, 2000), 1, 0);
	s = accept(l, NULL, NULL);
	S_CHECK("a blocking read gets the child's bytes",
		read(s, buf, sizeof(buf)), 3, 0);
	S_OK(reap(pid, &st, 2000) == 1 && st == EXITED(0),
	     "the connecting child exited cleanly");
	S_CHECK("EOF once the child is gone", read(s, buf, sizeof(buf)), 0, 0);
	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
	pid = fork();
	if (pid == 0) {
		sleep_ms(20);
		_exit(send(sv[1], "m", 1, 0) == 1 ? 0 : 1);
	}
	S_CHECK("a blocking seqpacket recv waits for another process",
		recv(sv[0], buf, sizeof(buf), 0), 1, 0);
	reap(pid, &st, 2000);
}

static int sigpipe_child(void *arg)
{
	int sv[2];

	(void)arg;
	signal(SIGPIPE, SIG_DFL);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	close(sv[1]);
	write(sv[0], "x", 1);
	return 0;
}

static void sigpipe(void *arg)
{
	(void)arg;
	S_STATUS("a write to a closed peer raises SIGPIPE",
		 run_child(sigpipe_child, NULL, 2000), KILLED(SIGPIPE));
}

int main(void)
{
	plan(19 + 17 + 14 + 27 + 11 + 7 + 7 + 5 + 1);
	snprintf(dir, sizeof(dir), "/dev/shm/ward-unix-%d", (int)getpid());
	scenario("creation", 19, creation, NULL);
	scenario("stream_pair", 17, stream_pair, NULL);
	scenario("packets", 14, packets, NULL);
	scenario("abstract_names", 27, abstract_names, NULL);
	if (mkdir(dir, 0700) == 0) {
		scenario("path_names", 11, path_names, NULL);
		rmdir(dir);
	} else {
		int i;

		for (i = 0; i < 11; i++)
			skip("path names", "no /dev/shm");
	}
	scenario("rights", 7, rights, NULL);
	scenario("credentials", 7, credentials, NULL);
	scenario("blocking", 5, blocking, NULL);
	scenario("sigpipe", 1, sigpipe, NULL);
	return done();
}
