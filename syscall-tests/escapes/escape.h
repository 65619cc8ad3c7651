/*
 * escape.h: helpers shared by the escape attacks.
 *
 * An escape program is run as `PROGRAM TAG VICTIM_PID`, natively and under a
 * runtime. TAG is unique per run: every host path an attack tries to create
 * is /tmp/TAG-<something>, so the harness can look for it on the host
 * afterwards and clean up after native runs. VICTIM_PID is a host process
 * the harness started for the attacks on host processes (a sleeper of its
 * own, never anything else).
 *
 * Each attack runs in a forked child, so a crash (SIGSEGV, SIGSYS) only ends
 * that child; the parent prints one line per attack:
 *
 *   ESCAPE <VERDICT> <name> native=<escapes|na> marker=<path|-> :: <detail>
 *
 * VERDICT is HELD (the wall held), ESCAPED (the attack did what it must not
 * do), WROTE or REFUSED (a write the harness judges by looking for the
 * marker on the host), or WEDGED (the attack hung past its alarm). The
 * program ends with "ESCAPE-END"; a missing end line means the program (or
 * the runtime) died. Every native effect is confined to /tmp/TAG-* and to
 * the program's own children.
 */
#ifndef WARD_ESCAPE_H
#define WARD_ESCAPE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Verdicts an attack's function returns. */
enum verdict { HELD, ESCAPED, WROTE, REFUSED, WEDGED };

static const char *const verdict_names[] = {
	"HELD", "ESCAPED", "WROTE", "REFUSED", "WEDGED",
};

/* Whether the attack is an escape when run natively too: always, only as
 * root (mknod, host devices, ptrace of a non-child under Yama), or never. */
enum native { NATIVE_ESCAPES, NATIVE_AS_ROOT, NATIVE_NA };

static inline const char *native_word(enum native native)
{
	if (native == NATIVE_ESCAPES ||
	    (native == NATIVE_AS_ROOT && geteuid() == 0))
		return "escapes";
	return "na";
}

static const char *esc_tag = "ward-escape-untagged";
static pid_t esc_victim = -1;

/* Room for the attack's detail, written by the child into a pipe. */
static char esc_detail[400];

/* detail(fmt, ...): what the attack saw, one line (for the report). */
__attribute__((format(printf, 1, 2)))
static inline void detail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(esc_detail, sizeof(esc_detail), fmt, ap);
	va_end(ap);
	for (char *p = esc_detail; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

/* marker_path(buf, what): /tmp/TAG-what. */
static inline const char *marker_path(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "/tmp/%s-%s", esc_tag, what);
	return buf;
}

/* Reads the arguments; call first from main. */
static inline void escape_init(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && argv[1][0])
		esc_tag = argv[1];
	if (argc > 2)
		esc_victim = (pid_t)atol(argv[2]);
}

static inline const char *sig_name(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGSYS: return "SIGSYS";
	case SIGILL: return "SIGILL";
	case SIGBUS: return "SIGBUS";
	case SIGKILL: return "SIGKILL";
	case SIGTRAP: return "SIGTRAP";
	case SIGABRT: return "SIGABRT";
	case SIGALRM: return "SIGALRM";
	case SIGXCPU: return "SIGXCPU";
	default: return "another signal";
	}
}

/*
 * attack(name, native, marker, fn, alarm_secs): runs fn in a forked child
 * and prints its line. A child killed by a signal, or one that exits
 * without a verdict, counts as HELD (the process ended instead of
 * escaping), except SIGALRM, which means it hung: WEDGED. marker is the
 * host path a write attack aims at, or NULL.
 */
static inline void attack(const char *name, enum native native,
			  const char *marker, enum verdict (*fn)(void),
			  unsigned alarm_secs)
{
	int pipefd[2];
	char buf[sizeof(esc_detail) + 1];
	ssize_t n = 0, got;
	int status = 0;
	enum verdict v;
	pid_t pid;

	fflush(stdout);
	if (pipe(pipefd) != 0) {
		printf("ESCAPE WEDGED %s native=%s marker=- :: pipe: %s\n", name,
		       native_word(native), strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		alarm(alarm_secs);
		esc_detail[0] = 0;
		v = fn();
		buf[0] = (char)('0' + v);
		memcpy(buf + 1, esc_detail, strlen(esc_detail));
		if (write(pipefd[1], buf, 1 + strlen(esc_detail)) < 0)
			_exit(3);
		_exit(0);
	}
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		printf("ESCAPE WEDGED %s native=%s marker=- :: fork: %s\n", name,
		       native_word(native), strerror(errno));
		return;
	}
	while ((size_t)n < sizeof(buf) - 1 &&
	       (got = read(pipefd[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += got;
	close(pipefd[0]);
	buf[n] = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n > 0 && buf[0] >= '0' && buf[0] <= '0' + WEDGED) {
		v = (enum verdict)(buf[0] - '0');
		snprintf(esc_detail, sizeof(esc_detail), "%s", buf + 1);
	} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
		v = WEDGED;
		detail("hung for %us", alarm_secs);
	} else if (WIFSIGNALED(status)) {
		v = HELD;
		detail("the attacking process was killed by %s",
		       sig_name(WTERMSIG(status)));
	} else {
		v = HELD;
		detail("the attacking process exited with %d without a verdict",
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	printf("ESCAPE %s %s native=%s marker=%s :: %s\n", verdict_names[v],
	       name, native_word(native),
	       marker ? marker : "-", esc_detail[0] ? esc_detail : "-");
}

/* Prints the end line: the harness knows the program was not cut short. */
static inline int escape_done(void)
{
	printf("ESCAPE-END\n");
	return 0;
}

/* write_marker(path, flags): opens path with O_CREAT|flags and writes to it;
 * WROTE when the kernel accepted it (the harness then looks on the host). */
static inline enum verdict write_marker(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		detail("open %s: %s", path, strerror(errno));
		return REFUSED;
	}
	if (write(fd, "escape\n", 7) != 7) {
		detail("write %s: %s", path, strerror(errno));
		close(fd);
		return REFUSED;
	}
	close(fd);
	detail("wrote %s", path);
	return WROTE;
}

#endif
