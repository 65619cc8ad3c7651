/*
 * proc.h: helpers for the process-model cases (fork, wait, threads, exec,
 * signals, timers). Include it after tap.h.
 *
 * These cases break the single-process rule of tap.h on purpose, so they
 * must stay safe when the runtime under test is broken: anything that could
 * hang or kill the test runs in a forked child under a deadline. The parent
 * polls waitpid(WNOHANG) and SIGKILLs a child that overstays, so a broken
 * runtime gives "not ok" lines instead of a hang.
 *
 * scenario(name, n, fn, arg) runs fn(arg) in such a child. fn reports its
 * test points with the S_* macros below (same meaning as tap.h's CHECK,
 * CHECK_ERR, ...); they travel through a pipe and the parent prints them as
 * TAP, exactly n of them: points the child never reached (it crashed, timed
 * out, or fork failed) are printed as failures with the reason. Outside a
 * scenario child the S_* macros print TAP directly, so a test function can
 * also be called from main.
 *
 * Children never write to stdout: only the parent prints TAP.
 */
#ifndef WARD_PROC_H
#define WARD_PROC_H

#include "tap.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

/* The total time all scenarios of one program may spend waiting for their
 * children; after that the remaining scenarios fail without running, so a
 * broken runtime still finishes inside the runner's deadline. */
#define PROC_BUDGET_MS 20000
/* The default deadline of one scenario. */
#define SCENARIO_MS 3000

/* Nanoseconds on CLOCK_MONOTONIC. */
static inline long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Milliseconds elapsed since a now_ns() value. */
static inline long long ms_since(long long start_ns)
{
	return (now_ns() - start_ns) / 1000000;
}

/* Sleeps for us microseconds, resuming after signal handlers. */
static inline void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static inline void sleep_ms(long ms)
{
	sleep_us(ms * 1000);
}

/* The kernel's thread id. */
static inline pid_t tid_self(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Sends SIGKILL to a child, never to a group or to everything: pid must be
 * a real child pid (> 0). */
static inline void kill_child(pid_t pid)
{
	if (pid > 0)
		kill(pid, SIGKILL);
}

/* Waits up to ms for child pid to report a state change that options ask
 * for (WNOHANG is added, polling). Returns pid, 0 on timeout, or -1 with
 * errno. */
static inline pid_t wait_for(pid_t pid, int *status, int options, int ms)
{
	long long start = now_ns();
	long delay = 20;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, options | WNOHANG);
		if (r == -1 && errno == EINTR)
			continue;
		if (r != 0)
			return r;
		if (ms_since(start) >= ms)
			return 0;
		sleep_us(delay);
		if (delay < 4000)
			delay *= 2;
	}
}

/* Waits up to ms for child pid to end. Returns 1 when it ended (status set),
 * 0 when it did not (it is then killed and reaped), -1 on a wait error. */
static inline int reap(pid_t pid, int *status, int ms)
{
	pid_t r;
	int dummy;

	if (pid <= 0)
		return -1;
	r = wait_for(pid, status, __WALL, ms);
	if (r == pid)
		return 1;
	if (r == -1)
		return -1;
	kill_child(pid);
	wait_for(pid, &dummy, __WALL, 1000);
	return 0;
}

/* "exited 3", "killed by SIGSEGV", ... for a wait status. */
static inline const char *describe_status(int st)
{
	static char buf[64];
	const char *name;

	if (WIFEXITED(st)) {
		snprintf(buf, sizeof(buf), "exited %d", WEXITSTATUS(st));
	} else if (WIFSIGNALED(st)) {
		name = sigabbrev_np(WTERMSIG(st));
		snprintf(buf, sizeof(buf), "killed by SIG%s",
			 name ? name : "?");
	} else if (WIFSTOPPED(st)) {
		name = sigabbrev_np(WSTOPSIG(st));
		snprintf(buf, sizeof(buf), "stopped by SIG%s",
			 name ? name : "?");
	} else {
		snprintf(buf, sizeof(buf), "status %#x", st);
	}
	return buf;
}

/* Runs a child that ends on its own: returns its wait status, or -1 when
 * it failed to start (errno), timed out (ETIMEDOUT) or could not be waited
 * for. fn's return value is the child's exit status. */
static inline int run_child(int (*fn)(void *), void *arg, int ms)
{
	pid_t pid;
	int st = 0, r;

	fflush(stdout);
	pid = fork();
	if (pid == -1)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	r = reap(pid, &st, ms);
	if (r == 1)
		return st;
	errno = r == 0 ? ETIMEDOUT : errno;
	return -1;
}

/* Reads up to size bytes from fd, waiting at most ms for each chunk, until
 * EOF or size bytes. Returns the byte count (it may be short on timeout). */
static inline long read_timeout(int fd, void *buf, size_t size, int ms)
{
	long long start = now_ns();
	size_t len = 0;
	struct pollfd pfd;
	long left;
	ssize_t n;

	while (len < size) {
		left = ms - ms_since(start);
		if (left <= 0)
			break;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		n = read(fd, (char *)buf + len, size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	return (long)len;
}

/* ---- reporting from a scenario child ---------------------------------- */

static int sc_fd = -1; /* the result pipe, in a scenario child */

/* Sends (or, outside a scenario child, prints) one test point. kind is 'P'
 * (passed), 'F' (failed) or 'S' (skipped, reason = why). */
static inline void s_result(int kind, const char *desc, const char *reason)
{
	char line[1400];
	size_t i, n;
	ssize_t w;

	if (sc_fd < 0) {
		if (kind == 'S')
			skip(desc, reason);
		else
			tap_result(kind == 'P', desc, reason);
		return;
	}
	n = (size_t)snprintf(line, sizeof(line) - 1, "%c\t%s\t%s", kind, desc,
			     reason ? reason : "");
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	for (i = 2; i < n; i++) {
		if (line[i] == '\n' || line[i] == '\r' ||
		    (line[i] == '\t' && i != 2 + strlen(desc)))
			line[i] = ' ';
	}
	line[n++] = '\n';
	do
		w = write(sc_fd, line, n);
	while (w == -1 && errno == EINTR);
}

__attribute__((format(printf, 3, 4)))
static inline void s_okf(int cond, const char *desc, const char *fmt, ...)
{
	char reason[1024];
	va_list ap;

	if (cond) {
		s_result('P', desc, NULL);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	s_result('F', desc, reason);
}

static inline void s_skip(const char *desc, const char *why)
{
	s_result('S', desc, why);
}

static inline void s_check(const char *desc, long got, int got_errno,
			   long want, int want_errno)
{
	int passed = got == want && (want != -1 || got_errno == want_errno);

	if (want == -1)
		s_okf(passed, desc, "expected -1 errno %s, got %ld errno %s",
		      tap_errname(want_errno), got, tap_errname(got_errno));
	else
		s_okf(passed, desc, "expected %ld, got %ld errno %s", want, got,
		      tap_errname(got_errno));
}

/* The S_* macros: tap.h's CHECK family for scenario children. */
#define S_OK(cond, desc) s_okf(!!(cond), (desc), "condition was false")
#define S_TRUE(desc, cond) s_okf(!!(cond), (desc), "false: %s", #cond)
#define S_CHECK(desc, expr, want_ret, want_errno)                              \
	do {                                                                   \
		long s_r_;                                                     \
		int s_e_;                                                      \
		errno = 0;                                                     \
		s_r_ = (long)(expr);                                           \
		s_e_ = errno;                                                  \
		s_check((desc), s_r_, s_e_, (long)(want_ret), (want_errno));   \
	} while (0)
#define S_CHECK_ERR(desc, expr, err) S_CHECK(desc, expr, -1, err)
#define S_CHECK_OKV(desc, expr, out)                                           \
	do {                                                                   \
		int s_e_;                                                      \
		errno = 0;                                                     \
		(out) = (long)(expr);                                          \
		s_e_ = errno;                                                  \
		s_okf((out) != -1, (desc), "expected success, got -1 errno %s", \
		      tap_errname(s_e_));                                      \
	} while (0)
#define S_CHECK_OK(desc, expr)                                                 \
	do {                                                                   \
		long s_v_;                                                     \
		S_CHECK_OKV(desc, expr, s_v_);                                 \
		(void)s_v_;                                                    \
	} while (0)
#define S_EQ(desc, got, want)                                                  \
	do {                                                                   \
		long long s_g_ = (long long)(got);                             \
		long long s_w_ = (long long)(want);                            \
		s_okf(s_g_ == s_w_, (desc), "expected %lld, got %lld", s_w_,   \
		      s_g_);                                                   \
	} while (0)
/* A wait status is the expected one ("exited 0", "killed by SIGTERM"). */
#define S_STATUS(desc, got_st, want_st)                                        \
	do {                                                                   \
		int s_g_ = (got_st), s_w_ = (want_st);                         \
		char s_want_[64];                                              \
		snprintf(s_want_, sizeof(s_want_), "%s",                       \
			 describe_status(s_w_));                               \
		s_okf(s_g_ == s_w_, (desc), "expected %s, got %s", s_want_,    \
		      s_g_ == -1 ? tap_errname(errno)                          \
				 : describe_status(s_g_));                     \
	} while (0)

/* Wait statuses for S_STATUS. */
#define EXITED(code) (((code) & 0xff) << 8)
#define KILLED(sig) ((sig) & 0x7f)

/* ---- scenarios ---------------------------------------------------------- */

static long long proc_budget_start;

/* Fails the points [from, n) of a scenario with one reason. */
static inline void scenario_fail_rest(const char *name, int from, int n,
				      const char *why)
{
	char desc[200];
	int i;

	for (i = from; i < n; i++) {
		snprintf(desc, sizeof(desc), "%s: point %d of %d", name, i + 1,
			 n);
		okf(0, desc, "not reached: %s", why);
	}
}

/* Appends what is readable now from the non-blocking fd to buf. */
static inline void scenario_drain(int fd, char *buf, size_t size, size_t *len)
{
	ssize_t n;

	while (*len + 1 < size) {
		n = read(fd, buf + *len, size - 1 - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	buf[*len] = '\0';
}

/* Runs fn(arg) in a child with a deadline of ms; prints exactly n points. */
static inline void scenario_ms(const char *name, int n, void (*fn)(void *),
			       void *arg, int ms)
{
	static char buf[1 << 16];
	size_t len = 0;
	long long start, left;
	char why[160], *line, *next, *desc, *reason;
	int p[2], st = 0, got = 0, timed_out = 0, ended = 0;
	long delay = 20;
	pid_t pid, r;

	if (proc_budget_start == 0)
		proc_budget_start = now_ns();
	left = PROC_BUDGET_MS - ms_since(proc_budget_start);
	if (left <= 0) {
		scenario_fail_rest(name, 0, n,
				   "the program's time budget is spent");
		return;
	}
	if (ms > left)
		ms = (int)left;
	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(why, sizeof(why), "pipe2 failed: %s",
			 tap_errname(errno));
		scenario_fail_rest(name, 0, n, why);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == -1) {
		snprintf(why, sizeof(why), "fork failed: %s",
			 tap_errname(errno));
		close(p[0]);
		close(p[1]);
		scenario_fail_rest(name, 0, n, why);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		sc_fd = p[1];
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	start = now_ns();
	for (;;) {
		scenario_drain(p[0], buf, sizeof(buf), &len);
		r = waitpid(pid, &st, WNOHANG | __WALL);
		if (r == pid) {
			ended = 1;
			break;
		}
		if (r == -1 && errno != EINTR)
			break;
		if (ms_since(start) >= ms) {
			timed_out = 1;
			kill_child(pid);
			wait_for(pid, &st, __WALL, 1000);
			break;
		}
		sleep_us(delay);
		if (delay < 2000)
			delay *= 2;
	}
	scenario_drain(p[0], buf, sizeof(buf), &len);
	close(p[0]);

	for (line = buf; *line; line = next) {
		next = strchr(line, '\n');
		if (!next)
			break; /* a torn last line */
		*next++ = '\0';
		if (line[0] == '\0' || line[1] != '\t')
			continue;
		desc = line + 2;
		reason = strchr(desc, '\t');
		if (reason)
			*reason++ = '\0';
		got++;
		if (got > n)
			continue;
		if (got == n && next && strchr(next, '\n')) {
			okf(0, desc, "scenario %s reported more than %d points",
			    name, n);
			continue;
		}
		if (line[0] == 'S')
			skip(desc, reason ? reason : "");
		else
			tap_result(line[0] == 'P', desc, reason);
	}
	if (got >= n)
		return;
	if (timed_out)
		snprintf(why, sizeof(why), "the child timed out after %d ms",
			 ms);
	else if (ended)
		snprintf(why, sizeof(why), "the child %s after %d points",
			 describe_status(st), got);
	else
		snprintf(why, sizeof(why), "waitpid failed: %s",
			 tap_errname(errno));
	scenario_fail_rest(name, got, n, why);
}

static inline void scenario(const char *name, int n, void (*fn)(void *),
			    void *arg)
{
	scenario_ms(name, n, fn, arg, SCENARIO_MS);
}

#endif /* WARD_PROC_H */
