/*
 * floods: resource floods that must be refused cleanly, never crash or
 * wedge the sentry (invariant 4). Each flood runs under a small limit it
 * sets itself (so totals stay small on any machine), and afterwards the
 * process must still get answers. A flood the limit does not stop is
 * reported as ESCAPED: the sandbox let the app past a limit it set.
 * Natively these are "n/a": Linux enforces the same limits.
 */
#include "escape.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>

/* The sandbox still answers: a syscall, an open, a pipe round trip. */
static int still_answers(void)
{
	int p[2], fd;
	char c = 'x';

	if (getpid() <= 0)
		return 0;
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		return 0;
	close(fd);
	if (pipe(p) != 0)
		return 0;
	if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
		return 0;
	close(p[0]);
	close(p[1]);
	return 1;
}

static enum verdict fd_flood(void)
{
	struct rlimit lim = { 256, 256 };
	int n = 0, fd, err = 0, last = -1;

	if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
		detail("setrlimit NOFILE: %s", strerror(errno));
		return HELD;
	}
	for (;;) {
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0) {
			err = errno;
			break;
		}
		last = fd;
		if (++n > 4096)
			break;
	}
	if (err != EMFILE) {
		detail("opened %d fds, then %s", n, err ? strerror(err) : "no refusal");
		return ESCAPED;
	}
	/* Room for the follow-up: an open and a pipe. */
	for (int fd2 = last; fd2 > last - 3 && fd2 > 2; fd2--)
		close(fd2);
	if (!still_answers()) {
		detail("EMFILE after %d fds, then no answers", n);
		return WEDGED;
	}
	detail("EMFILE after %d fds (limit 256); still answers", n);
	return HELD;
}

static int release_fd[2];

static void *parked(void *arg)
{
	char c;

	(void)arg;
	if (read(release_fd[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

/*
 * As an unprivileged user (so Linux enforces it), RLIMIT_NPROC = 16 must
 * stop thread creation with EAGAIN well before 64 threads.
 */
static enum verdict thread_flood(void)
{
	struct rlimit lim = { 16, 16 };
	pthread_t threads[64];
	int n = 0, err = 0;

	if (setgid(65534) != 0 || setuid(65534) != 0) {
		detail("cannot become nobody: %s", strerror(errno));
		return HELD;
	}
	if (setrlimit(RLIMIT_NPROC, &lim) != 0) {
		detail("setrlimit NPROC: %s", strerror(errno));
		return HELD;
	}
	if (pipe(release_fd) != 0) {
		detail("pipe: %s", strerror(errno));
		return HELD;
	}
	while (n < 64) {
		err = pthread_create(&threads[n], NULL, parked, NULL);
		if (err)
			break;
		n++;
	}
	close(release_fd[1]);
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	if (!still_answers()) {
		detail("%d threads, then no answers", n);
		return WEDGED;
	}
	if (err != EAGAIN) {
		detail("RLIMIT_NPROC 16 as nobody: %d threads created, %s",
		       n, err ? strerror(err) : "none refused");
		return ESCAPED;
	}
	detail("EAGAIN after %d threads (RLIMIT_NPROC 16, as nobody); still answers", n);
	return HELD;
}

/* RLIMIT_AS = 96 MiB; mapping and touching 8 MiB chunks must stop by 192. */
static enum verdict memory_flood(void)
{
	const size_t chunk = 8 << 20;
	struct rlimit lim = { 96 << 20, 96 << 20 };
	size_t total = 0;
	int err = 0;

	if (setrlimit(RLIMIT_AS, &lim) != 0) {
		detail("setrlimit AS: %s", strerror(errno));
		return HELD;
	}
	while (total < (192u << 20)) {
		char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			err = errno;
			break;
		}
		for (size_t off = 0; off < chunk; off += 4096)
			p[off] = 1;
		total += chunk;
	}
	if (!still_answers()) {
		detail("%zu MiB, then no answers", total >> 20);
		return WEDGED;
	}
	if (err != ENOMEM) {
		detail("RLIMIT_AS 96 MiB: mapped and touched %zu MiB, %s",
		       total >> 20, err ? strerror(err) : "none refused");
		return ESCAPED;
	}
	detail("ENOMEM after %zu MiB (RLIMIT_AS 96 MiB); still answers", total >> 20);
	return HELD;
}

int main(int argc, char **argv)
{
	escape_init(argc, argv);
	attack("fd_flood_to_emfile", NATIVE_NA, NULL, fd_flood, 20);
	attack("thread_flood_to_nproc", NATIVE_NA, NULL, thread_flood, 20);
	attack("memory_flood_to_rlimit_as", NATIVE_NA, NULL, memory_flood, 20);
	return escape_done();
}
