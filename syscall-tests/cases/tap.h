/*
 * tap.h: tiny TAP (Test Anything Protocol) helpers shared by every case.
 *
 * A case prints "1..N" (plan), then one "ok N - desc" or
 * "not ok N - desc # reason" line per test point; done() returns the exit
 * status (0 only when every point passed and the count matched the plan).
 *
 * Rules for cases (see syscall-tests/README.md): one process, one thread, no
 * signals delivered, nothing written except stdout/stderr and /dev/null, no
 * /proc or /sys, and nothing printed that differs between runs or runtimes.
 * Include this header first: it defines _GNU_SOURCE.
 */
#ifndef WARD_TAP_H
#define WARD_TAP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static int tap_planned;
static int tap_count;
static int tap_failures;

/* A pointer that is never mapped: the first page is never mappable
 * (vm.mmap_min_addr), so the kernel answers EFAULT. */
#define BAD_PTR ((void *)1)

/* Prints the plan and makes stdout line-buffered, so results printed before
 * a crash still reach the runner. */
static inline void plan(int n)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_planned = n;
	printf("1..%d\n", n);
}

/* Emits one test point; on failure the reason follows " # ". */
static inline void tap_result(int passed, const char *desc,
			      const char *reason)
{
	tap_count++;
	if (passed) {
		printf("ok %d - %s\n", tap_count, desc);
	} else {
		tap_failures++;
		printf("not ok %d - %s # %s\n", tap_count, desc,
		       reason ? reason : "failed");
	}
}

/* ok(cond, desc): passes when cond is true. */
static inline void ok(int cond, const char *desc)
{
	tap_result(cond, desc, "condition was false");
}

/* okf(cond, desc, fmt, ...): like ok(), with a formatted failure reason. */
__attribute__((format(printf, 3, 4)))
static inline void okf(int cond, const char *desc, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	tap_result(cond, desc, reason);
}

/* skip(desc, why): a test point that does not apply here ("ok N - desc # SKIP why"). */
static inline void skip(const char *desc, const char *why)
{
	tap_count++;
	printf("ok %d - %s # SKIP %s\n", tap_count, desc, why);
}

/* The symbolic name of an errno value ("ENOENT"), or "0" for none. */
static inline const char *tap_errname(int e)
{
	const char *name;

	if (e == 0)
		return "0";
	name = strerrorname_np(e);
	return name ? name : "E?";
}

/* tap_check: the body of the CHECK macros. want_errno is only compared when
 * want_ret is -1 (an error return). */
static inline void tap_check(const char *desc, long got, int got_errno,
			     long want, int want_errno)
{
	int passed = got == want && (want != -1 || got_errno == want_errno);

	if (passed) {
		tap_result(1, desc, NULL);
		return;
	}
	if (want == -1)
		okf(0, desc, "expected -1 errno %s, got %ld errno %s",
		    tap_errname(want_errno), got, tap_errname(got_errno));
	else
		okf(0, desc, "expected %ld, got %ld errno %s", want, got,
		    tap_errname(got_errno));
}

/* CHECK(desc, expr, want_ret, want_errno): evaluates expr (errno cleared
 * first) and passes when it returned want_ret and, if want_ret is -1, errno
 * is want_errno. Reports expected vs got value and errno on failure. */
#define CHECK(desc, expr, want_ret, want_errno)                                \
	do {                                                                   \
		long tap_r_;                                                   \
		int tap_e_;                                                    \
		errno = 0;                                                     \
		tap_r_ = (long)(expr);                                         \
		tap_e_ = errno;                                                \
		tap_check((desc), tap_r_, tap_e_, (long)(want_ret),            \
			  (want_errno));                                       \
	} while (0)

/* CHECK_ERR(desc, expr, err): expr fails with -1 and errno err. */
#define CHECK_ERR(desc, expr, err) CHECK(desc, expr, -1, err)

/* CHECK_OKV(desc, expr, out): expr does not return -1 (errno is reported
 * when it does); its value is stored in the long variable out. */
#define CHECK_OKV(desc, expr, out)                                             \
	do {                                                                   \
		int tap_e_;                                                    \
		errno = 0;                                                     \
		(out) = (long)(expr);                                          \
		tap_e_ = errno;                                                \
		if ((out) != -1)                                               \
			tap_result(1, (desc), NULL);                           \
		else                                                           \
			okf(0, (desc), "expected success, got -1 errno %s",   \
			    tap_errname(tap_e_));                              \
	} while (0)

/* CHECK_OK(desc, expr): expr does not return -1. */
#define CHECK_OK(desc, expr)                                                   \
	do {                                                                   \
		long tap_v_;                                                   \
		CHECK_OKV(desc, expr, tap_v_);                                 \
		(void)tap_v_;                                                  \
	} while (0)

/* CHECK_EQ(desc, got, want): two integer values are equal. */
#define CHECK_EQ(desc, got, want)                                              \
	do {                                                                   \
		long long tap_g_ = (long long)(got);                           \
		long long tap_w_ = (long long)(want);                          \
		okf(tap_g_ == tap_w_, (desc), "expected %lld, got %lld",      \
		    tap_w_, tap_g_);                                           \
	} while (0)

/* CHECK_TRUE(desc, cond): cond holds; the failure names the condition. */
#define CHECK_TRUE(desc, cond) okf(!!(cond), (desc), "false: %s", #cond)

/* need(cond, what): a setup step that later points depend on (typically a
 * mapping they will touch) must have worked. If not, the program stops with
 * "Bail out!" rather than fault: the points not yet reported then count as
 * failed, with this reason. Never triggers on Linux. */
static inline void need(int cond, const char *what)
{
	if (cond)
		return;
	printf("Bail out! %s failed (errno %s)\n", what, tap_errname(errno));
	fflush(stdout);
	exit(1);
}

/* Ends the program: returns the exit status for main. */
static inline int done(void)
{
	if (tap_count != tap_planned) {
		printf("# planned %d tests but ran %d\n", tap_planned,
		       tap_count);
		tap_failures++;
	}
	fflush(stdout);
	return tap_failures ? 1 : 0;
}

/* A symlink on the host whose target exists (merged-usr /bin, /etc/localtime,
 * ...), or NULL when there is none: cases needing one then skip. */
static inline const char *find_symlink(void)
{
	static const char *const candidates[] = {
		"/bin", "/lib", "/sbin", "/lib64", "/etc/localtime",
		"/usr/bin/cc", "/usr/bin/awk", "/etc/os-release",
	};
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		if (lstat(candidates[i], &st) == 0 && S_ISLNK(st.st_mode) &&
		    stat(candidates[i], &st) == 0)
			return candidates[i];
	}
	return NULL;
}

/* Reads the whole of a small file into buf (NUL-terminated); returns its
 * length or -1. */
static inline long slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	return (long)len;
}

#endif /* WARD_TAP_H */
