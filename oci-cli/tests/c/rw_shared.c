/* Shared file mappings, fallocate and statfs on a writable root: run as
 * `rw_shared CASE DIR`, once natively and once under `ward do --rw-root`,
 * each run in a directory of its own; the two outputs must agree. Every
 * line printed is a fact about the file, never an address or a time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096L

static const char *dir;

static char *path(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static void die(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A file of `len` zero bytes, open read-write. */
static int make(const char *name, long len)
{
	int fd = open(path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die("open");
	if (ftruncate(fd, len) != 0)
		die("ftruncate");
	return fd;
}

static char *map(int fd, long len, int prot)
{
	char *p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void wait_byte(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		die("pipe read");
}

static void send_byte(int fd)
{
	if (write(fd, "x", 1) != 1)
		die("pipe write");
}

/* Two processes, each mapping the file on its own, see each other's
 * writes through their mappings. */
static void two_processes(void)
{
	int to_child[2], to_parent[2], fd, status;
	char *p;
	pid_t pid;

	fd = make("shared", 2 * PAGE);
	close(fd);
	if (pipe(to_child) || pipe(to_parent))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		int cfd = open(path("shared"), O_RDWR);
		char *c;

		if (cfd < 0)
			die("child open");
		c = map(cfd, 2 * PAGE, PROT_READ | PROT_WRITE);
		strcpy(c + PAGE + 10, "from child");
		send_byte(to_parent[1]);
		wait_byte(to_child[0]);
		printf("child sees: %s\n", c + 100);
		fflush(stdout);
		_exit(0);
	}
	fd = open(path("shared"), O_RDWR);
	if (fd < 0)
		die("open");
	p = map(fd, 2 * PAGE, PROT_READ | PROT_WRITE);
	wait_byte(to_parent[0]);
	printf("parent sees: %s\n", p + PAGE + 10);
	strcpy(p + 100, "from parent");
	fflush(stdout);
	send_byte(to_child[1]);
	waitpid(pid, &status, 0);
	printf("child exit: %d\n", WEXITSTATUS(status));
}

/* A forked child shares its parent's mapping. */
static void forked_mapping(void)
{
	int fd = make("forked", PAGE), status;
	char *p = map(fd, PAGE, PROT_READ | PROT_WRITE);
	char buf[32] = {0};
	pid_t pid = fork();

	if (pid == 0) {
		strcpy(p, "written by the child");
		_exit(0);
	}
	waitpid(pid, &status, 0);
	printf("parent's mapping: %s\n", p);
	if (pread(fd, buf, 20, 0) != 20)
		die("pread");
	printf("read(2): %s\n", buf);
}

/* A store through the mapping is what read(2) returns. */
static void map_then_read(void)
{
	int fd = make("mtr", PAGE);
	char *p = map(fd, PAGE, PROT_READ | PROT_WRITE);
	char buf[16] = {0};
	int other;

	memcpy(p + 5, "mapped", 6);
	if (pread(fd, buf, 6, 5) != 6)
		die("pread");
	printf("pread: %s\n", buf);
	other = open(path("mtr"), O_RDONLY);
	memset(buf, 0, sizeof(buf));
	if (other < 0 || pread(other, buf, 6, 5) != 6)
		die("pread other");
	printf("pread by another fd: %s\n", buf);
}

/* write(2) is seen through a mapping made before it. */
static void write_then_map(void)
{
	int fd = make("wtm", PAGE);
	char *p = map(fd, PAGE, PROT_READ | PROT_WRITE);
	int other = open(path("wtm"), O_WRONLY);

	if (other < 0 || pwrite(other, "written", 7, 40) != 7)
		die("pwrite");
	printf("mapping: %.7s\n", p + 40);
	if (pwrite(fd, "again", 5, PAGE - 5) != 5)
		die("pwrite end");
	printf("mapping at the end: %.5s\n", p + PAGE - 5);
}

/* Waits, still mapping the file, until stdin closes: the test reads
 * the host file meanwhile. */
static void linger(char *p)
{
	char c;

	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	p[0] = 'S';
}

/* msync(MS_SYNC) puts a mapping's stores in the host file. */
static void msync_reaches_the_file(void)
{
	int fd = make("synced", PAGE);
	char *p = map(fd, PAGE, PROT_READ | PROT_WRITE);

	memcpy(p, "synced by msync", 15);
	printf("msync: %d\n", msync(p, PAGE, MS_SYNC));
	linger(p);
}

/* So does fsync of the file. */
static void fsync_reaches_the_file(void)
{
	int fd = make("synced", PAGE);
	char *p = map(fd, PAGE, PROT_READ | PROT_WRITE);

	memcpy(p, "synced by fsync", 15);
	printf("fsync: %d\n", fsync(fd));
	linger(p);
}

/* munmap puts a mapping's stores in the file too. */
static void munmap_reaches_the_file(void)
{
	int fd = make("unmapped", PAGE);
	char *p = map(fd, PAGE, PROT_READ | PROT_WRITE);
	char buf[32] = {0};
	int other;

	close(fd);
	memcpy(p, "kept after munmap", 17);
	printf("munmap: %d\n", munmap(p, PAGE));
	other = open(path("unmapped"), O_RDONLY);
	if (other < 0 || read(other, buf, 17) != 17)
		die("read");
	printf("read(2): %s\n", buf);
}

/* mremap of a shared mapping keeps mapping the file: grown in place or
 * moved, its pages are still the file's. */
static void mremap_keeps_the_file(void)
{
	int fd = make("remapped", 3 * PAGE);
	char *p = map(fd, PAGE, PROT_READ | PROT_WRITE);
	char *blocker, *q, buf[16] = {0};

	strcpy(p, "first page");
	/* Something right after it, so growing must move. */
	blocker = mmap(p + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	q = mremap(p, PAGE, 3 * PAGE, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		die("mremap");
	printf("moved: %d\n", blocker != MAP_FAILED ? q != p : 1);
	printf("first page after the move: %s\n", q);
	strcpy(q + 2 * PAGE, "third page");
	if (pread(fd, buf, 10, 2 * PAGE) != 10)
		die("pread");
	printf("read(2) of the third page: %s\n", buf);
	if (pwrite(fd, "written", 7, PAGE) != 7)
		die("pwrite");
	printf("second page through the mapping: %.7s\n", q + PAGE);
}

static sigjmp_buf jump;

static void on_bus(int sig)
{
	siglongjmp(jump, sig);
}

/* Which signal touching `p` raises (0 for none). */
static int touch(volatile char *p)
{
	int sig = sigsetjmp(jump, 1);

	if (sig == 0) {
		(void)*p;
		return 0;
	}
	return sig;
}

/* Pages wholly past the end of the file are SIGBUS; growing the file
 * brings them back, reading zero. */
static void truncate_then_sigbus(void)
{
	int fd = make("sigbus", 3 * PAGE);
	volatile char *p = map(fd, 3 * PAGE, PROT_READ | PROT_WRITE);
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_bus;
	sigaction(SIGBUS, &sa, NULL);
	p[2 * PAGE] = 'z';
	if (ftruncate(fd, PAGE + 100) != 0)
		die("shrink");
	printf("page 0: signal %d\n", touch(p));
	printf("page 1 (partly inside): signal %d\n", touch(p + PAGE + 200));
	printf("byte past the end in page 1: %d\n", p[PAGE + 200]);
	printf("page 2: signal %d\n", touch(p + 2 * PAGE));
	if (ftruncate(fd, 3 * PAGE) != 0)
		die("grow");
	printf("page 2 after growing: signal %d\n", touch(p + 2 * PAGE));
	printf("page 2 reads: %d\n", p[2 * PAGE]);
}

static void show_size(const char *what, int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		die("fstat");
	printf("%s: size %ld\n", what, (long)st.st_size);
}

static void show_errno(const char *what, int r)
{
	printf("%s: %d %s\n", what, r, r ? strerrorname_np(errno) : "ok");
}

/* A shared mapping of a file open read-only cannot become writable, but
 * sees what a writable one writes. */
static void read_only_mapping(void)
{
	int fd = make("ro", PAGE);
	int ro = open(path("ro"), O_RDONLY);
	char *w = map(fd, PAGE, PROT_READ | PROT_WRITE);
	char *r = map(ro, PAGE, PROT_READ);

	strcpy(w, "seen read-only");
	printf("read-only mapping: %s\n", r);
	show_errno("mprotect write", mprotect(r, PAGE, PROT_READ | PROT_WRITE));
	show_errno("mmap shared writable of O_RDONLY",
		   mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) ==
				   MAP_FAILED
			   ? -1
			   : 0);
}

/* fallocate's modes and its errors. */
static void fallocate_modes(void)
{
	int fd = make("falloc", 0), ro;
	char buf[8];
	char *p;

	show_errno("mode 0", fallocate(fd, 0, 0, 3 * PAGE));
	show_size("after mode 0", fd);
	show_errno("keep size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 8 * PAGE));
	show_size("after keep size", fd);
	if (pwrite(fd, "abcdefgh", 8, PAGE) != 8)
		die("pwrite");
	show_errno("punch hole", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PAGE, 4));
	if (pread(fd, buf, 8, PAGE) != 8)
		die("pread");
	printf("after punch: %d %d %d %d %c\n", buf[0], buf[1], buf[2], buf[3], buf[4]);
	show_errno("zero range", fallocate(fd, FALLOC_FL_ZERO_RANGE, PAGE + 4, 4));
	if (pread(fd, buf, 8, PAGE) != 8)
		die("pread");
	printf("after zero range: %d %d\n", buf[4], buf[7]);
	show_errno("zero range growing", fallocate(fd, FALLOC_FL_ZERO_RANGE, 3 * PAGE, PAGE));
	show_size("after zero range growing", fd);
	p = map(fd, 4 * PAGE, PROT_READ | PROT_WRITE);
	p[2 * PAGE] = 'm';
	show_errno("punch under a mapping",
		   fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE));
	printf("mapping keeps its store: %c\n", p[2 * PAGE]);
	if (pread(fd, buf, 1, 2 * PAGE) != 1)
		die("pread");
	printf("read(2) after punch: %c\n", buf[0]);
	show_errno("punch without keep size", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, PAGE));
	show_errno("unknown mode", fallocate(fd, 0x4000, 0, PAGE));
	show_errno("length 0", fallocate(fd, 0, 0, 0));
	show_errno("negative offset", fallocate(fd, 0, -1, PAGE));
	ro = open(path("falloc"), O_RDONLY);
	show_errno("read-only fd", fallocate(ro, 0, 0, PAGE));
}

/* statfs of the directory: the host file system's block size and counts. */
static void statfs_counts(void)
{
	struct statfs s;

	if (statfs(dir, &s) != 0)
		die("statfs");
	printf("bsize %ld frsize %ld blocks %lu files %lu namelen %ld\n",
	       (long)s.f_bsize, (long)s.f_frsize, (unsigned long)s.f_blocks,
	       (unsigned long)s.f_files, (long)s.f_namelen);
	printf("bfree <= blocks: %d, bavail <= bfree: %d, ffree <= files: %d\n",
	       s.f_bfree <= s.f_blocks, s.f_bavail <= s.f_bfree, s.f_ffree <= s.f_files);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} cases[] = {
		{"two_processes", two_processes},
		{"forked_mapping", forked_mapping},
		{"map_then_read", map_then_read},
		{"write_then_map", write_then_map},
		{"msync", msync_reaches_the_file},
		{"fsync", fsync_reaches_the_file},
		{"munmap", munmap_reaches_the_file},
		{"sigbus", truncate_then_sigbus},
		{"mremap", mremap_keeps_the_file},
		{"read_only", read_only_mapping},
		{"fallocate", fallocate_modes},
		{"statfs", statfs_counts},
	};
	size_t i;

	if (argc != 3) {
		fprintf(stderr, "usage: rw_shared CASE DIR\n");
		return 2;
	}
	dir = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(cases[i].name, argv[1]) == 0) {
			cases[i].run();
			return 0;
		}
	}
	fprintf(stderr, "unknown case %s\n", argv[1]);
	return 2;
}
