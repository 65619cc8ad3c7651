/* TCP over loopback (AF_INET and AF_INET6): socket types and protocols,
 * bind with an ephemeral port, EADDRINUSE, EADDRNOTAVAIL, ECONNREFUSED,
 * ENETUNREACH where the only interface is lo, an echo between two
 * processes over 127.0.0.1 and ::1, non-blocking connect, shutdown and
 * close as reads and poll see them, MSG_PEEK/MSG_DONTWAIT/MSG_WAITALL,
 * FIONREAD, IPV6_V6ONLY and v4-mapped peers, the options that read back,
 * the lo interface ioctls, and the address error paths (EFAULT, EINVAL,
 * EAFNOSUPPORT, EBADF, ENOTSOCK).
 *
 * Every port is an ephemeral one bind(0) picked (the native run shares
 * the host's ports). Every group runs as a scenario (proc.h). */
#include "tap.h"
#include "proc.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

static int intopt(int fd, int level, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, opt, &v, &len) == -1)
		return -2;
	return v;
}

static int revents(int fd, short events, int ms)
{
	struct pollfd p = { fd, events, 0 };

	return poll(&p, 1, ms) == 1 ? p.revents : 0;
}

static struct sockaddr_in v4(const char *ip, int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static struct sockaddr_in6 v6(const char *ip, int port)
{
	struct sockaddr_in6 a;

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &a.sin6_addr);
	return a;
}

/* A listener on the loopback address of family (127.0.0.1 or ::1);
 * returns its fd and sets *port. */
static int listener(int family, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = socket(family, SOCK_STREAM, 0);

	if (family == AF_INET) {
		struct sockaddr_in a = v4("127.0.0.1", 0);

		need(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
	} else {
		struct sockaddr_in6 a = v6("::1", 0);

		need(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
	}
	need(listen(fd, 8) == 0, "listen");
	need(getsockname(fd, (struct sockaddr *)&ss, &len) == 0,
	     "getsockname");
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* A connected pair over 127.0.0.1 in one process. */
static void tcp_pair(int *client, int *server)
{
	int port, l = listener(AF_INET, &port);
	struct sockaddr_in a = v4("127.0.0.1", port);

	*client = socket(AF_INET, SOCK_STREAM, 0);
	need(connect(*client, (struct sockaddr *)&a, sizeof(a)) == 0,
	     "connect");
	*server = accept(l, NULL, NULL);
	need(*server >= 0, "accept");
	close(l);
}

/* Whether an interface other than lo is up (the host's network): then
 * addresses off loopback may be routed and ENETUNREACH does not apply. */
static int other_interface(void)
{
	struct ifreq reqs[16];
	struct ifconf conf = { .ifc_len = sizeof(reqs), .ifc_req = reqs };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), n, i, found = 0;

	if (fd < 0 || ioctl(fd, SIOCGIFCONF, &conf) == -1)
		return 1;
	n = conf.ifc_len / (int)sizeof(struct ifreq);
	for (i = 0; i < n; i++)
		if (strcmp(reqs[i].ifr_name, "lo") != 0)
			found = 1;
	close(fd);
	return found;
}

static void creation(void *arg)
{
	int fd, sv[2];
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	(void)arg;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	S_OK(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK) &&
		     (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	     "an AF_INET stream socket takes SOCK_NONBLOCK and SOCK_CLOEXEC");
	S_EQ("SO_TYPE", intopt(fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	S_EQ("SO_DOMAIN", intopt(fd, SOL_SOCKET, SO_DOMAIN), AF_INET);
	S_EQ("SO_PROTOCOL", intopt(fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
	S_OK(getsockname(fd, (struct sockaddr *)&a, &len) == 0 &&
		     len == sizeof(a) && a.sin_family == AF_INET &&
		     a.sin_port == 0 && a.sin_addr.s_addr == 0,
	     "an unbound socket's name is 0.0.0.0:0");
	close(fd);
	fd = socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP);
	S_EQ("an AF_INET6 socket with IPPROTO_TCP: SO_DOMAIN",
	     intopt(fd, SOL_SOCKET, SO_DOMAIN), AF_INET6);
	close(fd);
	S_CHECK_ERR("SOCK_SEQPACKET is ESOCKTNOSUPPORT for AF_INET",
		    socket(AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
	S_CHECK_ERR("a stream socket with IPPROTO_UDP is EPROTONOSUPPORT",
		    socket(AF_INET, SOCK_STREAM, IPPROTO_UDP),
		    EPROTONOSUPPORT);
	S_CHECK_ERR("a raw socket of protocol 0 is EPROTONOSUPPORT",
		    socket(AF_INET, SOCK_RAW, 0), EPROTONOSUPPORT);
	S_CHECK_ERR("a protocol past IPPROTO_MAX is EINVAL",
		    socket(AF_INET, SOCK_STREAM, 300), EINVAL);
	S_CHECK_ERR("socketpair of AF_INET is EOPNOTSUPP",
		    socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
}

static void ports(void *arg)
{
	int a_fd, b_fd, c_fd, port;
	struct sockaddr_in a = v4("127.0.0.1", 0), got;
	socklen_t len = sizeof(got);

	(void)arg;
	a_fd = socket(AF_INET, SOCK_STREAM, 0);
	S_CHECK("bind to 127.0.0.1 port 0",
		bind(a_fd, (struct sockaddr *)&a, sizeof(a)), 0, 0);
	S_OK(getsockname(a_fd, (struct sockaddr *)&got, &len) == 0 &&
		     got.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	     "getsockname reports the address bound");
	port = ntohs(got.sin_port);
	S_OK(port >= 32768 && port <= 60999,
	     "port 0 picks an ephemeral port (32768-60999)");
	S_CHECK_ERR("a second bind of one socket is EINVAL",
		    bind(a_fd, (struct sockaddr *)&a, sizeof(a)), EINVAL);
	b_fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons(port);
	S_CHECK_ERR("binding a taken port is EADDRINUSE",
		    bind(b_fd, (struct sockaddr *)&a, sizeof(a)), EADDRINUSE);
	c_fd = socket(AF_INET, SOCK_STREAM, 0);
	S_CHECK_ERR("connecting to a port nobody listens on is ECONNREFUSED",
		    connect(c_fd, (struct sockaddr *)&a, sizeof(a)),
		    ECONNREFUSED);
	close(a_fd);
	S_CHECK("the port is free once its socket is closed",
		bind(b_fd, (struct sockaddr *)&a, sizeof(a)), 0, 0);
	close(c_fd);
	c_fd = socket(AF_INET, SOCK_STREAM, 0);
	S_CHECK("listen on an unbound socket", listen(c_fd, 1), 0, 0);
	len = sizeof(got);
	S_OK(getsockname(c_fd, (struct sockaddr *)&got, &len) == 0 &&
		     ntohs(got.sin_port) >= 32768 && got.sin_addr.s_addr == 0,
	     "listen binds an ephemeral port on 0.0.0.0");
	S_EQ("SO_ACCEPTCONN of a listener",
	     intopt(c_fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
	close(b_fd);
	close(c_fd);
}

static void errors(void *arg)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), pfd[2];
	struct sockaddr_in far = v4("10.1.2.3", 80), lo = v4("127.0.0.1", 0);
	struct sockaddr_in6 six = v6("::1", 0);
	char c;

	(void)arg;
	S_CHECK_ERR("binding 10.1.2.3 is EADDRNOTAVAIL",
		    bind(fd, (struct sockaddr *)&far, sizeof(far)),
		    EADDRNOTAVAIL);
	S_CHECK_ERR("bind with a short address is EINVAL",
		    bind(fd, (struct sockaddr *)&lo, sizeof(lo) - 1), EINVAL);
	S_CHECK_ERR("bind with a bad address pointer is EFAULT",
		    syscall(SYS_bind, fd, BAD_PTR, sizeof(lo)), EFAULT);
	S_CHECK_ERR("bind of an AF_INET6 address on AF_INET is EAFNOSUPPORT",
		    bind(fd, (struct sockaddr *)&six, sizeof(lo)),
		    EAFNOSUPPORT);
	S_CHECK_ERR("connect with a short address is EINVAL",
		    connect(fd, (struct sockaddr *)&lo, 8), EINVAL);
	if (other_interface())
		s_skip("connecting off loopback is ENETUNREACH",
		       "this host has a network");
	else
		S_CHECK_ERR("connecting off loopback is ENETUNREACH",
			    connect(fd, (struct sockaddr *)&far, sizeof(far)),
			    ENETUNREACH);
	S_CHECK_ERR("getpeername unconnected is ENOTCONN",
		    getpeername(fd, NULL, &(socklen_t){ 0 }), ENOTCONN);
	S_CHECK_ERR("recv unconnected is ENOTCONN", recv(fd, &c, 1, 0),
		    ENOTCONN);
	S_CHECK_ERR("send unconnected is EPIPE",
		    send(fd, "x", 1, MSG_NOSIGNAL), EPIPE);
	S_CHECK_ERR("shutdown unconnected is ENOTCONN",
		    shutdown(fd, SHUT_RDWR), ENOTCONN);
	S_CHECK_ERR("bind on a closed fd is EBADF",
		    bind(1000, (struct sockaddr *)&lo, sizeof(lo)), EBADF);
	need(pipe(pfd) == 0, "pipe");
	S_CHECK_ERR("bind on a pipe is ENOTSOCK",
		    bind(pfd[0], (struct sockaddr *)&lo, sizeof(lo)),
		    ENOTSOCK);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
}

/* The server of an echo: accepts one connection, sends the peer's port
 * as it saw it (2 bytes, network order), then echoes until EOF. */
static void echo_server(int l, int family)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char buf[256];
	long n;
	int c = accept(l, (struct sockaddr *)&ss, &len);

	if (c < 0)
		_exit(2);
	if (family == AF_INET)
		n = write(c, &((struct sockaddr_in *)&ss)->sin_port, 2);
	else
		n = write(c, &((struct sockaddr_in6 *)&ss)->sin6_port, 2);
	if (n != 2)
		_exit(3);
	while ((n = read(c, buf, sizeof(buf))) > 0)
		if (write(c, buf, n) != n)
			_exit(4);
	_exit(n == 0 ? 0 : 5);
}

static void echo(void *arg)
{
	int family = *(int *)arg, port, l = listener(family, &port), fd, st;
	struct sockaddr_storage peer, me, to;
	socklen_t plen = sizeof(peer), mlen = sizeof(me), tolen;
	unsigned short seen = 0;
	char buf[32] = { 0 };
	pid_t pid = fork();

	need(pid >= 0, "fork");
	if (pid == 0)
		echo_server(l, family);
	close(l);
	memset(&to, 0, sizeof(to));
	if (family == AF_INET) {
		*(struct sockaddr_in *)&to = v4("127.0.0.1", port);
		tolen = sizeof(struct sockaddr_in);
	} else {
		*(struct sockaddr_in6 *)&to = v6("::1", port);
		tolen = sizeof(struct sockaddr_in6);
	}
	fd = socket(family, SOCK_STREAM, 0);
	S_CHECK("connect to the other process's listener",
		connect(fd, (struct sockaddr *)&to, tolen), 0, 0);
	S_OK(getpeername(fd, (struct sockaddr *)&peer, &plen) == 0 &&
		     plen == tolen && memcmp(&peer, &to, tolen) == 0,
	     "getpeername is the address connected to");
	S_OK(getsockname(fd, (struct sockaddr *)&me, &mlen) == 0 &&
		     mlen == tolen,
	     "getsockname after connect has the family's length");
	S_EQ("the server saw the client's port", read_timeout(fd, &seen, 2,
							      5000) == 2 &&
		     seen == (family == AF_INET
				      ? ((struct sockaddr_in *)&me)->sin_port
				      : ((struct sockaddr_in6 *)&me)->sin6_port),
	     1);
	S_CHECK("write", write(fd, "ping-pong", 9), 9, 0);
	S_OK(read_timeout(fd, buf, 9, 5000) == 9 &&
		     memcmp(buf, "ping-pong", 9) == 0,
	     "the echo comes back");
	shutdown(fd, SHUT_WR);
	S_CHECK("EOF once the server closes", read_timeout(fd, buf, 1, 5000),
		0, 0);
	S_OK(reap(pid, &st, 5000) && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	     "the server saw EOF and exited 0");
	close(fd);
}

static void nonblocking(void *arg)
{
	int port, l = listener(AF_INET, &port), fd, c;
	struct sockaddr_in a = v4("127.0.0.1", port);
	char buf[8];

	(void)arg;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	S_CHECK_ERR("a non-blocking connect is EINPROGRESS",
		    connect(fd, (struct sockaddr *)&a, sizeof(a)),
		    EINPROGRESS);
	S_OK(revents(fd, POLLOUT, 5000) & POLLOUT,
	     "the connecting socket becomes writable");
	S_EQ("SO_ERROR is 0 once connected", intopt(fd, SOL_SOCKET, SO_ERROR),
	     0);
	S_OK(revents(l, POLLIN, 5000) & POLLIN,
	     "the listener polls readable");
	c = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	S_OK(c >= 0, "accept4 takes the connection");
	S_CHECK_ERR("a non-blocking read with nothing queued is EAGAIN",
		    read(c, buf, sizeof(buf)), EAGAIN);
	need(fcntl(l, F_SETFL, O_NONBLOCK) == 0, "F_SETFL");
	close(fd);
	close(l);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	S_CHECK_ERR("a non-blocking connect to a closed port is EINPROGRESS",
		    connect(fd, (struct sockaddr *)&a, sizeof(a)),
		    EINPROGRESS);
	S_OK((revents(fd, POLLOUT, 5000) & (POLLERR | POLLHUP)) ==
		     (POLLERR | POLLHUP),
	     "it polls POLLERR|POLLHUP");
	S_EQ("SO_ERROR is ECONNREFUSED", intopt(fd, SOL_SOCKET, SO_ERROR),
	     ECONNREFUSED);
	l = listener(AF_INET, &port);
	need(fcntl(l, F_SETFL, O_NONBLOCK) == 0, "F_SETFL");
	S_CHECK_ERR("accept with nothing pending is EAGAIN",
		    accept(l, NULL, NULL), EAGAIN);
	close(c);
	close(fd);
	close(l);
}

static void shutdown_close(void *arg)
{
	int c, s;
	char buf[8];

	(void)arg;
	tcp_pair(&c, &s);
	S_CHECK("shutdown SHUT_WR", shutdown(c, SHUT_WR), 0, 0);
	S_CHECK("the peer reads EOF", read(s, buf, sizeof(buf)), 0, 0);
	S_OK((revents(s, POLLIN | POLLRDHUP, 0) & (POLLIN | POLLRDHUP)) ==
		     (POLLIN | POLLRDHUP),
	     "the peer polls POLLIN|POLLRDHUP");
	S_CHECK("the peer still writes", write(s, "back", 4), 4, 0);
	S_CHECK("the half-closed end still reads", read(c, buf, sizeof(buf)),
		4, 0);
	S_CHECK_ERR("writing after SHUT_WR is EPIPE",
		    send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	close(s);
	S_CHECK("EOF after the peer's close", read_timeout(c, buf, 1, 5000),
		0, 0);
	S_OK(revents(c, POLLIN, 5000) & POLLHUP,
	     "both directions shut: POLLHUP");
	close(c);
	tcp_pair(&c, &s);
	close(s);
	S_CHECK("the first write after the peer's close succeeds",
		send(c, "x", 1, MSG_NOSIGNAL), 1, 0);
	S_CHECK_ERR("the peer's reset makes the next one EPIPE",
		    send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	close(c);
	tcp_pair(&c, &s);
	need(write(c, "unread", 6) == 6, "write");
	close(s);
	S_CHECK_ERR("closing with unread data resets: ECONNRESET",
		    read(c, buf, 1), ECONNRESET);
	close(c);
}

static void reads(void *arg)
{
	int c, s, n = -1;
	char buf[16] = { 0 };

	(void)arg;
	tcp_pair(&c, &s);
	need(write(c, "0123456789", 10) == 10, "write");
	S_OK(revents(s, POLLIN, 5000) & POLLIN, "the receiver polls POLLIN");
	S_OK(ioctl(s, FIONREAD, &n) == 0 && n == 10, "FIONREAD counts 10");
	S_CHECK("MSG_PEEK reads without taking", recv(s, buf, 4, MSG_PEEK), 4,
		0);
	S_OK(ioctl(s, FIONREAD, &n) == 0 && n == 10,
	     "FIONREAD is unchanged after a peek");
	S_CHECK("a read takes 4", read(s, buf, 4), 4, 0);
	S_OK(recv(s, buf, sizeof(buf), 0) == 6 && memcmp(buf, "456789", 6) == 0,
	     "the rest follows in order");
	S_CHECK_ERR("MSG_DONTWAIT on an empty socket is EAGAIN",
		    recv(s, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	need(write(c, "abc", 3) == 3 && write(c, "defg", 4) == 4, "writes");
	S_CHECK("MSG_WAITALL gathers 7 bytes of two writes",
		recv(s, buf, 7, MSG_WAITALL), 7, 0);
	S_CHECK("sendto with an address on a connected socket ignores it",
		sendto(c, "z", 1, 0, NULL, 0), 1, 0);
	close(c);
	close(s);
}

static void v6only(void *arg)
{
	int l6 = socket(AF_INET6, SOCK_STREAM, 0), port, c, s, fd;
	struct sockaddr_in6 any = v6("::", 0), mapped, peer;
	struct sockaddr_in to;
	socklen_t len = sizeof(mapped);
	char text[64] = "";

	(void)arg;
	S_EQ("IPV6_V6ONLY is off by default",
	     intopt(l6, IPPROTO_IPV6, IPV6_V6ONLY), 0);
	need(bind(l6, (struct sockaddr *)&any, sizeof(any)) == 0, "bind ::");
	S_CHECK_ERR("IPV6_V6ONLY cannot change once bound",
		    setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 1 },
			       sizeof(int)),
		    EINVAL);
	need(listen(l6, 4) == 0, "listen");
	need(getsockname(l6, (struct sockaddr *)&mapped, &len) == 0,
	     "getsockname");
	port = ntohs(mapped.sin6_port);
	to = v4("127.0.0.1", port);
	c = socket(AF_INET, SOCK_STREAM, 0);
	S_CHECK("a v4 client reaches a v6 listener on ::",
		connect(c, (struct sockaddr *)&to, sizeof(to)), 0, 0);
	len = sizeof(peer);
	s = accept(l6, (struct sockaddr *)&peer, &len);
	if (s >= 0)
		inet_ntop(AF_INET6, &peer.sin6_addr, text, sizeof(text));
	S_OK(s >= 0 && len == sizeof(peer) &&
		     strcmp(text, "::ffff:127.0.0.1") == 0,
	     "its peer address is v4-mapped");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	S_CHECK_ERR("the v6 wildcard holds the v4 port too",
		    bind(fd, (struct sockaddr *)&to, sizeof(to)), EADDRINUSE);
	close(fd);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	need(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 1 },
			sizeof(int)) == 0,
	     "IPV6_V6ONLY");
	mapped = v6("::ffff:127.0.0.1", 0);
	S_CHECK_ERR("a v6-only socket cannot bind a v4-mapped address",
		    bind(fd, (struct sockaddr *)&mapped, sizeof(mapped)),
		    EINVAL);
	close(fd);
	close(s);
	close(c);
	close(l6);
}

static void options(void *arg)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct linger lg = { 1, 5 };
	socklen_t len = sizeof(lg);

	(void)arg;
	S_EQ("TCP_NODELAY is off by default",
	     intopt(fd, IPPROTO_TCP, TCP_NODELAY), 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	S_EQ("TCP_NODELAY reads back 1", intopt(fd, IPPROTO_TCP, TCP_NODELAY),
	     1);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &(int){ 7 }, sizeof(int));
	S_EQ("SO_KEEPALIVE reads back 1", intopt(fd, SOL_SOCKET, SO_KEEPALIVE),
	     1);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &(int){ 30 }, sizeof(int));
	S_EQ("TCP_KEEPINTVL reads back", intopt(fd, IPPROTO_TCP, TCP_KEEPINTVL),
	     30);
	S_CHECK_ERR("TCP_KEEPCNT of 0 is EINVAL",
		    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &(int){ 0 },
			       sizeof(int)),
		    EINVAL);
	setsockopt(fd, IPPROTO_IP, IP_TOS, &(int){ 0x10 }, sizeof(int));
	S_EQ("IP_TOS reads back", intopt(fd, IPPROTO_IP, IP_TOS), 0x10);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	memset(&lg, 0, sizeof(lg));
	S_OK(getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) == 0 &&
		     lg.l_onoff == 1 && lg.l_linger == 5,
	     "SO_LINGER reads back");
	S_CHECK_ERR("an option of a short length is EINVAL",
		    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, 2),
		    EINVAL);
	S_CHECK_ERR("an unknown TCP option is ENOPROTOOPT",
		    setsockopt(fd, IPPROTO_TCP, 9999, &(int){ 1 }, sizeof(int)),
		    ENOPROTOOPT);
	close(fd);
}

static void interfaces(void *arg)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq r;

	(void)arg;
	memset(&r, 0, sizeof(r));
	strcpy(r.ifr_name, "lo");
	S_OK(ioctl(fd, SIOCGIFFLAGS, &r) == 0 &&
		     (r.ifr_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING)) ==
			     (IFF_UP | IFF_LOOPBACK | IFF_RUNNING),
	     "lo is UP, LOOPBACK and RUNNING");
	S_OK(if_nametoindex("lo") > 0, "if_nametoindex(lo) is an index");
	memset(&r, 0, sizeof(r));
	strcpy(r.ifr_name, "lo");
	S_OK(ioctl(fd, SIOCGIFADDR, &r) == 0 &&
		     ((struct sockaddr_in *)&r.ifr_addr)->sin_addr.s_addr ==
			     htonl(INADDR_LOOPBACK),
	     "lo's address is 127.0.0.1");
	strcpy(r.ifr_name, "nosuch0");
	S_CHECK_ERR("an unknown interface is ENODEV",
		    ioctl(fd, SIOCGIFFLAGS, &r), ENODEV);
	close(fd);
}

int main(void)
{
	int v4f = AF_INET, v6f = AF_INET6;

	plan(11 + 10 + 12 + 8 + 8 + 10 + 11 + 9 + 6 + 9 + 4);
	scenario("creation", 11, creation, NULL);
	scenario("ports", 10, ports, NULL);
	scenario("errors", 12, errors, NULL);
	scenario("echo_v4", 8, echo, &v4f);
	scenario("echo_v6", 8, echo, &v6f);
	scenario("nonblocking", 10, nonblocking, NULL);
	scenario("shutdown_close", 11, shutdown_close, NULL);
	scenario("reads", 9, reads, NULL);
	scenario("v6only", 6, v6only, NULL);
	scenario("options", 9, options, NULL);
	scenario("interfaces", 4, interfaces, NULL);
	return done();
}
