/* UDP over loopback (AF_INET and AF_INET6): sendto/recvfrom with the
 * sender's address (an unbound sender takes an ephemeral port), datagram
 * boundaries, MSG_TRUNC and MSG_PEEK, FIONREAD, connect filtering the
 * peer, a v6 socket on :: receiving from v4 senders as v4-mapped, and the
 * error paths (EINVAL, EFAULT, EDESTADDRREQ, EOPNOTSUPP, EADDRINUSE,
 * ENETUNREACH where the only interface is lo).
 *
 * Every port is an ephemeral one bind(0) picked. Every group runs as a
 * scenario (proc.h). */
#include "tap.h"
#include "proc.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static struct sockaddr_in v4(const char *ip, int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

/* A UDP socket bound to 127.0.0.1 port 0; its address in *a. */
static int bound4(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	*a = v4("127.0.0.1", 0);
	need(bind(fd, (struct sockaddr *)a, sizeof(*a)) == 0, "bind");
	need(getsockname(fd, (struct sockaddr *)a, &len) == 0, "getsockname");
	return fd;
}

static int readable(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 5000) == 1 && (p.revents & POLLIN);
}

/* Whether an interface other than lo is up (see inet_tcp.c). */
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

static void addresses(void *arg)
{
	struct sockaddr_in ra, from, me;
	socklen_t flen = sizeof(from), mlen = sizeof(me);
	int r = bound4(&ra), s = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[16] = { 0 };

	(void)arg;
	S_CHECK("sendto from an unbound socket",
		sendto(s, "hello", 5, 0, (struct sockaddr *)&ra, sizeof(ra)),
		5, 0);
	S_OK(getsockname(s, (struct sockaddr *)&me, &mlen) == 0 &&
		     ntohs(me.sin_port) >= 32768 && me.sin_addr.s_addr == 0,
	     "the sender took an ephemeral port on 0.0.0.0");
	S_OK(readable(r), "the receiver polls POLLIN");
	S_CHECK("recvfrom gets the datagram",
		recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			 &flen),
		5, 0);
	S_OK(flen == sizeof(from) && from.sin_family == AF_INET &&
		     from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
		     from.sin_port == me.sin_port,
	     "recvfrom reports 127.0.0.1 and the sender's port");
	S_CHECK("sendto back to the reported address",
		sendto(r, "hi", 2, 0, (struct sockaddr *)&from, flen), 2, 0);
	S_OK(readable(s) && recv(s, buf, sizeof(buf), 0) == 2,
	     "the reply arrives");
	close(r);
	close(s);
}

static void boundaries(void *arg)
{
	struct sockaddr_in ra;
	int r = bound4(&ra), s = socket(AF_INET, SOCK_DGRAM, 0), n = -1;
	char buf[16] = { 0 };
	struct iovec iov = { buf, 4 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	(void)arg;
	need(connect(s, (struct sockaddr *)&ra, sizeof(ra)) == 0, "connect");
	need(send(s, "abc", 3, 0) == 3 && send(s, "defgh", 5, 0) == 5 &&
		     send(s, "0123456789", 10, 0) == 10,
	     "sends");
	S_OK(readable(r), "the receiver polls POLLIN");
	S_OK(ioctl(r, FIONREAD, &n) == 0 && n == 3,
	     "FIONREAD is the next datagram's length");
	S_CHECK("MSG_PEEK sees the first datagram",
		recv(r, buf, sizeof(buf), MSG_PEEK), 3, 0);
	S_CHECK("a read takes one datagram", recv(r, buf, sizeof(buf), 0), 3,
		0);
	S_CHECK("the next read takes the next one",
		recv(r, buf, sizeof(buf), 0), 5, 0);
	S_CHECK("MSG_TRUNC returns the whole length",
		recv(r, buf, 4, MSG_TRUNC), 10, 0);
	need(send(s, "0123456789", 10, 0) == 10, "send");
	S_OK(readable(r) && recvmsg(r, &m, 0) == 4 && (m.msg_flags & MSG_TRUNC),
	     "recvmsg of a long datagram sets MSG_TRUNC");
	need(send(s, "xyz", 3, 0) == 3, "send");
	S_OK(recv(r, buf, sizeof(buf), 0) == 3 && memcmp(buf, "xyz", 3) == 0,
	     "the truncated datagram's tail is gone");
	S_CHECK("an empty datagram is one", send(s, "", 0, 0), 0, 0);
	S_CHECK("and reads as 0 bytes", recv(r, buf, sizeof(buf), 0), 0, 0);
	S_CHECK_ERR("MSG_DONTWAIT with nothing queued is EAGAIN",
		    recv(r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	close(r);
	close(s);
}

static void connected(void *arg)
{
	struct sockaddr_in ra, pa, oa, peer;
	socklen_t plen = sizeof(peer);
	int r = bound4(&ra), p = bound4(&pa), o = bound4(&oa);
	char buf[16] = { 0 };

	(void)arg;
	S_CHECK("connect a UDP socket",
		connect(r, (struct sockaddr *)&pa, sizeof(pa)), 0, 0);
	S_OK(getpeername(r, (struct sockaddr *)&peer, &plen) == 0 &&
		     peer.sin_port == pa.sin_port,
	     "getpeername is the peer");
	need(sendto(o, "other", 5, 0, (struct sockaddr *)&ra, sizeof(ra)) == 5,
	     "sendto from another");
	need(sendto(p, "peer", 4, 0, (struct sockaddr *)&ra, sizeof(ra)) == 4,
	     "sendto from the peer");
	S_OK(readable(r) && recv(r, buf, sizeof(buf), 0) == 4 &&
		     memcmp(buf, "peer", 4) == 0,
	     "only the peer's datagram arrives");
	S_CHECK_ERR("nothing else is queued",
		    recv(r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	S_CHECK("send without an address goes to the peer", send(r, "x", 1, 0),
		1, 0);
	S_OK(readable(p) && recv(p, buf, sizeof(buf), 0) == 1,
	     "the peer gets it");
	{
		struct sockaddr sa = { .sa_family = AF_UNSPEC };

		S_CHECK("connect AF_UNSPEC forgets the peer",
			connect(r, &sa, sizeof(sa)), 0, 0);
	}
	S_CHECK_ERR("then getpeername is ENOTCONN",
		    getpeername(r, (struct sockaddr *)&peer, &plen), ENOTCONN);
	close(r);
	close(p);
	close(o);
}

static void mapped(void *arg)
{
	int r = socket(AF_INET6, SOCK_DGRAM, 0), s;
	struct sockaddr_in6 any, from;
	struct sockaddr_in to;
	socklen_t len = sizeof(any), flen = sizeof(from);
	char buf[8], text[64] = "";

	(void)arg;
	memset(&any, 0, sizeof(any));
	any.sin6_family = AF_INET6;
	need(bind(r, (struct sockaddr *)&any, sizeof(any)) == 0, "bind ::");
	need(getsockname(r, (struct sockaddr *)&any, &len) == 0,
	     "getsockname");
	to = v4("127.0.0.1", ntohs(any.sin6_port));
	s = socket(AF_INET, SOCK_DGRAM, 0);
	S_CHECK("a v4 socket sends to a v6 socket on ::",
		sendto(s, "v4", 2, 0, (struct sockaddr *)&to, sizeof(to)), 2,
		0);
	S_OK(readable(r) && recvfrom(r, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &flen) == 2,
	     "the v6 socket receives it");
	inet_ntop(AF_INET6, &from.sin6_addr, text, sizeof(text));
	S_OK(flen == sizeof(from) && from.sin6_family == AF_INET6 &&
		     strcmp(text, "::ffff:127.0.0.1") == 0,
	     "the sender shows v4-mapped");
	close(s);
	close(r);
}

static void errors(void *arg)
{
	struct sockaddr_in ra, far = v4("10.1.2.3", 9);
	int r = bound4(&ra), s = socket(AF_INET, SOCK_DGRAM, 0), t;

	(void)arg;
	S_CHECK_ERR("send unconnected without an address is EDESTADDRREQ",
		    send(s, "x", 1, 0), EDESTADDRREQ);
	S_CHECK_ERR("sendto with a short address is EINVAL",
		    sendto(s, "x", 1, 0, (struct sockaddr *)&ra, 8), EINVAL);
	S_CHECK_ERR("sendto with a bad address pointer is EFAULT",
		    syscall(SYS_sendto, s, "x", 1, 0, BAD_PTR, sizeof(ra)),
		    EFAULT);
	S_CHECK_ERR("listen on UDP is EOPNOTSUPP", listen(s, 1), EOPNOTSUPP);
	t = socket(AF_INET, SOCK_DGRAM, 0);
	S_CHECK_ERR("binding a taken port is EADDRINUSE",
		    bind(t, (struct sockaddr *)&ra, sizeof(ra)), EADDRINUSE);
	S_CHECK_ERR("binding 10.1.2.3 is EADDRNOTAVAIL",
		    bind(t, (struct sockaddr *)&far, sizeof(far)),
		    EADDRNOTAVAIL);
	if (other_interface())
		s_skip("sending off loopback is ENETUNREACH",
		       "this host has a network");
	else
		S_CHECK_ERR("sending off loopback is ENETUNREACH",
			    sendto(s, "x", 1, 0, (struct sockaddr *)&far,
				   sizeof(far)),
			    ENETUNREACH);
	S_CHECK_ERR("shutdown of an unconnected UDP socket is ENOTCONN",
		    shutdown(s, SHUT_RDWR), ENOTCONN);
	close(r);
	close(s);
	close(t);
}

int main(void)
{
	plan(7 + 11 + 8 + 3 + 8);
	scenario("addresses", 7, addresses, NULL);
	scenario("boundaries", 11, boundaries, NULL);
	scenario("connected", 8, connected, NULL);
	scenario("mapped", 3, mapped, NULL);
	scenario("errors", 8, errors, NULL);
	return done();
}
