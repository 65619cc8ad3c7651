/* Pipes, poll, epoll and eventfd between processes: a blocking read waits
 * for another process's write, a blocking write for a reader to drain, EOF
 * when the last writer exits, SIGPIPE's default action, poll and epoll
 * woken by another process, PIPE_BUF writes from two processes never
 * interleaved, an eventfd shared across fork.
 *
 * Needs fork and signal delivery (SIGPIPE comes from the sentry's
 * kernel/signal_hooks.rs). Every scenario runs in a child under a deadline
 * (proc.h), so a broken runtime fails points instead of hanging. */
#include "tap.h"
#include "proc.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#define PAGE 4096

/* Forks a child that sleeps ms, then writes len bytes of c to fd and
 * exits. Returns its pid. */
static pid_t late_writer(int fd, char c, size_t len, int ms)
{
	static char buf[PAGE];
	pid_t pid = fork();

	if (pid == 0) {
		memset(buf, c, sizeof(buf));
		sleep_ms(ms);
		_exit(write(fd, buf, len) == (ssize_t)len ? 0 : 1);
	}
	return pid;
}

static void blocking_read(void *arg)
{
	int p[2], st;
	char buf[8];
	pid_t pid;

	(void)arg;
	pipe(p);
	pid = late_writer(p[1], 'r', 3, 20);
	S_CHECK("a blocking read waits for another process's write",
		read(p[0], buf, sizeof(buf)), 3, 0);
	S_OK(reap(pid, &st, 2000) == 1 && st == EXITED(0),
	     "the writer exited cleanly");
}

static void blocking_write(void *arg)
{
	static char big[4 * 65536];
	int p[2], st;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	(void)arg;
	pipe(p);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		_exit(write(p[1], big, sizeof(big)) == sizeof(big) ? 0 : 1);
	}
	close(p[1]);
	sleep_ms(20);
	while ((n = read(p[0], big, sizeof(big))) > 0)
		got += (size_t)n;
	S_EQ("a blocking write larger than the pipe goes in whole", got,
	     sizeof(big));
	S_OK(reap(pid, &st, 2000) == 1 && st == EXITED(0),
	     "the writer's write returned its full count");
}

static void eof_on_exit(void *arg)
{
	int p[2], st;
	char c;
	pid_t pid;

	(void)arg;
	pipe(p);
	pid = fork();
	if (pid == 0) {
		sleep_ms(20);
		_exit(0);
	}
	close(p[1]);
	S_CHECK("read sees EOF once the last writer exits",
		read(p[0], &c, 1), 0, 0);
	reap(pid, &st, 2000);
}

static void sigpipe(void *arg)
{
	int p[2], st;
	pid_t pid;

	(void)arg;
	pipe(p);
	close(p[0]);
	pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		write(p[1], "x", 1);
		_exit(0);
	}
	S_STATUS("a write with no reader kills with SIGPIPE by default",
		 reap(pid, &st, 2000) == 1 ? st : -1, KILLED(SIGPIPE));
}

static void poll_wakes(void *arg)
{
	struct pollfd pfd;
	struct epoll_event ev;
	int p[2], ep, st;
	pid_t pid;
	char buf[8];

	(void)arg;
	pipe(p);
	pid = late_writer(p[1], 'p', 1, 20);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	S_OK(poll(&pfd, 1, 2000) == 1 && pfd.revents == POLLIN,
	     "poll wakes when another process writes");
	read(p[0], buf, sizeof(buf));
	reap(pid, &st, 2000);
	ep = epoll_create1(0);
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET };
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	pid = late_writer(p[1], 'e', 1, 20);
	S_CHECK("epoll_wait wakes when another process writes",
		epoll_wait(ep, &ev, 1, 2000), 1, 0);
	reap(pid, &st, 2000);
}

static void atomic_writes(void *arg)
{
	static char buf[PAGE];
	int p[2], i, j, st, mixed = 0, chunks = 0;
	pid_t a, b;

	(void)arg;
	pipe(p);
	fcntl(p[1], F_SETPIPE_SZ, PAGE);
	a = fork();
	if (a == 0) {
		memset(buf, 'a', sizeof(buf));
		for (i = 0; i < 32; i++)
			write(p[1], buf, sizeof(buf));
		_exit(0);
	}
	b = fork();
	if (b == 0) {
		memset(buf, 'b', sizeof(buf));
		for (i = 0; i < 32; i++)
			write(p[1], buf, sizeof(buf));
		_exit(0);
	}
	close(p[1]);
	for (i = 0; i < 64; i++) {
		size_t got = 0;
		ssize_t n;

		while (got < sizeof(buf) &&
		       (n = read(p[0], buf + got, sizeof(buf) - got)) > 0)
			got += (size_t)n;
		if (got < sizeof(buf))
			break;
		chunks++;
		for (j = 1; j < PAGE; j++)
			mixed |= buf[j] != buf[0];
	}
	S_OK(chunks == 64 && !mixed,
	     "PIPE_BUF writes from two processes never interleave");
	reap(a, &st, 2000);
	reap(b, &st, 2000);
}

static void shared_eventfd(void *arg)
{
	uint64_t v = 0;
	int fd, st;
	pid_t pid;

	(void)arg;
	fd = eventfd(0, 0);
	pid = fork();
	if (pid == 0) {
		sleep_ms(20);
		v = 5;
		_exit(write(fd, &v, sizeof(v)) == sizeof(v) ? 0 : 1);
	}
	S_OK(read(fd, &v, sizeof(v)) == sizeof(v) && v == 5,
	     "an eventfd read waits for another process's write");
	reap(pid, &st, 2000);
}

int main(void)
{
	plan(10);
	signal(SIGPIPE, SIG_IGN);
	scenario("blocking read", 2, blocking_read, NULL);
	scenario("blocking write", 2, blocking_write, NULL);
	scenario("eof on exit", 1, eof_on_exit, NULL);
	scenario("sigpipe", 1, sigpipe, NULL);
	scenario("poll wakes", 2, poll_wakes, NULL);
	scenario("atomic writes", 1, atomic_writes, NULL);
	scenario("shared eventfd", 1, shared_eventfd, NULL);
	return done();
}
