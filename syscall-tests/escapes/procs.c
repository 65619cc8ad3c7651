/*
 * procs: seeing or touching host processes. The victim (argv[2]) is a
 * sleeper the harness started on the host: natively every attack reaches it
 * (kill with signal 0, a non-stopping PTRACE_SEIZE, reading its memory and
 * its environment); inside a sandbox none may (ESRCH, EPERM, ENOENT, ENOSYS).
 */
#include "escape.h"

#include <dirent.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

/* Whether /proc lists the victim, and how many pids it lists. */
static enum verdict proc_listing(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int pids = 0, seen = 0;

	if (!d) {
		detail("opendir /proc: %s", strerror(errno));
		return HELD;
	}
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name)
			continue;
		pids++;
		if (pid == esc_victim)
			seen = 1;
	}
	closedir(d);
	detail("/proc lists %d pids, victim %d %s", pids, (int)esc_victim,
	       seen ? "among them" : "absent");
	return seen ? ESCAPED : HELD;
}

static enum verdict stat_proc_victim(void)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)esc_victim);
	if (stat(path, &st) == 0) {
		detail("stat %s works", path);
		return ESCAPED;
	}
	detail("stat %s: %s", path, strerror(errno));
	return HELD;
}

static enum verdict kill0(void)
{
	if (kill(esc_victim, 0) == 0) {
		detail("kill(%d, 0) succeeded", (int)esc_victim);
		return ESCAPED;
	}
	detail("kill(%d, 0): %s", (int)esc_victim, strerror(errno));
	return HELD;
}

/* Whether /proc shows the victim traced right now (by another program of
 * this suite, run in parallel: a process has one tracer at a time). */
static int victim_traced(void)
{
	char path[64], line[256];
	FILE *f;
	int traced = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)esc_victim);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "TracerPid:", 10) == 0)
			traced = atoi(line + 10) != 0;
	fclose(f);
	return traced;
}

/* PTRACE_SEIZE never stops the tracee; the tracer's exit detaches it.
 * EPERM while another of this suite's programs holds the victim is tried
 * again. */
static enum verdict ptrace_seize(void)
{
	for (int tries = 0; tries < 200; tries++) {
		if (ptrace(PTRACE_SEIZE, esc_victim, NULL, NULL) == 0) {
			detail("PTRACE_SEIZE of %d succeeded", (int)esc_victim);
			return ESCAPED;
		}
		if (errno != EPERM || !victim_traced())
			break;
		usleep(10000);
	}
	detail("PTRACE_SEIZE of %d: %s", (int)esc_victim, strerror(errno));
	return HELD;
}

/* The first readable address in the victim's maps, or a guess. */
static unsigned long victim_address(void)
{
	char path[64], line[256];
	unsigned long start = 0x400000, end;
	char perms[8];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)esc_victim);
	f = fopen(path, "r");
	if (!f)
		return start;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 &&
		    perms[0] == 'r')
			break;
	fclose(f);
	return start;
}

static enum verdict vm_readv(void)
{
	char buf[16];
	struct iovec local = { buf, sizeof(buf) };
	struct iovec remote = { (void *)victim_address(), sizeof(buf) };
	ssize_t n = process_vm_readv(esc_victim, &local, 1, &remote, 1, 0);

	if (n > 0) {
		detail("read %zd bytes of %d at %p", n, (int)esc_victim,
		       remote.iov_base);
		return ESCAPED;
	}
	detail("process_vm_readv of %d: %s", (int)esc_victim, strerror(errno));
	return HELD;
}

static enum verdict pidfd(void)
{
	long fd = syscall(SYS_pidfd_open, esc_victim, 0);

	if (fd >= 0) {
		detail("pidfd_open(%d) = %ld", (int)esc_victim, fd);
		return ESCAPED;
	}
	detail("pidfd_open(%d): %s", (int)esc_victim, strerror(errno));
	return HELD;
}

static enum verdict environ_read(void)
{
	char path[64], buf[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)esc_victim);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		detail("open %s: %s", path, strerror(errno));
		return HELD;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n >= 0) {
		detail("read %zd bytes of %s", n, path);
		return ESCAPED;
	}
	detail("read %s: %s", path, strerror(errno));
	return HELD;
}

int main(int argc, char **argv)
{
	escape_init(argc, argv);
	attack("proc_lists_host_pid", NATIVE_ESCAPES, NULL, proc_listing, 10);
	attack("stat_proc_host_pid", NATIVE_ESCAPES, NULL, stat_proc_victim, 10);
	attack("kill0_host_pid", NATIVE_ESCAPES, NULL, kill0, 10);
	attack("ptrace_seize_host_pid", NATIVE_AS_ROOT, NULL, ptrace_seize, 10);
	attack("process_vm_readv_host_pid", NATIVE_AS_ROOT, NULL, vm_readv, 10);
	attack("pidfd_open_host_pid", NATIVE_ESCAPES, NULL, pidfd, 10);
	attack("read_host_pid_environ", NATIVE_ESCAPES, NULL, environ_read, 10);
	return escape_done();
}
