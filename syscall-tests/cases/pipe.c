/* pipe(2), pipe2(2) and pipe I/O in one process: flags, non-blocking
 * EAGAIN, end of file, EPIPE (SIGPIPE ignored), PIPE_BUF atomicity, packet
 * mode, F_GETPIPE_SZ/F_SETPIPE_SZ and FIONREAD. */
#include "tap.h"

#include <signal.h>
#include <sys/ioctl.h>

#define PAGE 4096

static int unread(int fd)
{
	int n = -1;

	ioctl(fd, FIONREAD, &n);
	return n;
}

/* Writes len-byte chunks to the non-blocking fd until EAGAIN; returns how
 * many went in (stopping at 1000), and the last errno in *err. */
static int fill(int fd, size_t len, int *err)
{
	static char chunk[PAGE];
	int n = 0;

	memset(chunk, 'f', sizeof(chunk));
	errno = 0;
	while (n < 1000 && write(fd, chunk, len) == (ssize_t)len)
		n++;
	*err = errno;
	return n;
}

int main(void)
{
	static char big[2 * PAGE];
	char buf[64];
	struct stat r, w;
	int p[2], q[2], err, n;

	plan(39);
	signal(SIGPIPE, SIG_IGN);

	CHECK("pipe succeeds", pipe(p), 0, 0);
	CHECK_TRUE("the read end is a FIFO",
		   fstat(p[0], &r) == 0 && S_ISFIFO(r.st_mode));
	CHECK_TRUE("both ends are the same inode",
		   fstat(p[1], &w) == 0 && r.st_ino == w.st_ino &&
			   r.st_dev == w.st_dev);
	CHECK_EQ("the pipe's mode is 0600", r.st_mode & 07777, 0600);
	CHECK_EQ("the read end is O_RDONLY", fcntl(p[0], F_GETFL), O_RDONLY);
	CHECK_EQ("the write end is O_WRONLY", fcntl(p[1], F_GETFL), O_WRONLY);
	CHECK_EQ("pipe sets no FD_CLOEXEC", fcntl(p[0], F_GETFD), 0);
	CHECK_ERR("lseek on a pipe gives ESPIPE", lseek(p[0], 0, SEEK_CUR),
		  ESPIPE);

	CHECK("write of 5 bytes returns 5", write(p[1], "hello", 5), 5, 0);
	CHECK_EQ("FIONREAD counts the unread bytes", unread(p[0]), 5);
	CHECK_ERR("pread on a pipe gives ESPIPE", pread(p[0], buf, 5, 0),
		  ESPIPE);
	CHECK("read of 0 bytes returns 0", read(p[0], buf, 0), 0, 0);
	memset(buf, 0, sizeof(buf));
	CHECK("read returns what was written", read(p[0], buf, sizeof(buf)),
	      5, 0);
	CHECK_TRUE("the bytes are the ones written",
		   memcmp(buf, "hello", 5) == 0);
	CHECK_ERR("read from the write end gives EBADF", read(p[1], buf, 1),
		  EBADF);
	CHECK_ERR("write to the read end gives EBADF", write(p[0], "x", 1),
		  EBADF);

	CHECK("write before the writer closes returns 1", write(p[1], "z", 1),
	      1, 0);
	close(p[1]);
	CHECK("read after the writer closed drains the pipe",
	      read(p[0], buf, sizeof(buf)), 1, 0);
	CHECK("then read is end of file", read(p[0], buf, sizeof(buf)), 0, 0);
	close(p[0]);

	pipe(p);
	close(p[0]);
	CHECK_ERR("write with every reader closed gives EPIPE",
		  write(p[1], "x", 1), EPIPE);
	CHECK("write of 0 bytes with no reader returns 0", write(p[1], "x", 0),
	      0, 0);
	close(p[1]);

	CHECK("pipe2 with O_CLOEXEC | O_NONBLOCK succeeds",
	      pipe2(p, O_CLOEXEC | O_NONBLOCK), 0, 0);
	CHECK_EQ("pipe2 O_CLOEXEC sets FD_CLOEXEC on the write end",
		 fcntl(p[1], F_GETFD), FD_CLOEXEC);
	CHECK_EQ("pipe2 O_NONBLOCK shows in F_GETFL",
		 fcntl(p[0], F_GETFL), O_RDONLY | O_NONBLOCK);
	CHECK_ERR("read of an empty non-blocking pipe gives EAGAIN",
		  read(p[0], buf, 1), EAGAIN);
	CHECK_EQ("a new pipe holds 64 KiB", fcntl(p[0], F_GETPIPE_SZ), 65536);
	n = fill(p[1], PAGE, &err);
	okf(n == 16 && err == EAGAIN,
	    "a new pipe takes 16 page writes, then EAGAIN",
	    "%d writes, then %s", n, tap_errname(err));
	CHECK_EQ("FIONREAD counts a full pipe", unread(p[0]), 65536);
	close(p[0]);
	close(p[1]);

	pipe2(p, O_NONBLOCK);
	write(p[1], "a", 1);
	n = fill(p[1], PAGE, &err);
	okf(n == 15 && err == EAGAIN && unread(p[0]) == 1 + 15 * PAGE,
	    "PIPE_BUF writes are atomic: none is split to fill the pipe",
	    "%d writes then %s, %d bytes in", n, tap_errname(err),
	    unread(p[0]));
	close(p[0]);
	close(p[1]);

	pipe2(p, O_NONBLOCK);
	fill(p[1], PAGE, &err);
	read(p[0], big, PAGE);
	CHECK("a write past PIPE_BUF takes what fits",
	      write(p[1], big, sizeof(big)), PAGE, 0);
	close(p[0]);
	close(p[1]);

	pipe(p);
	CHECK("F_SETPIPE_SZ rounds up to a power of two pages",
	      fcntl(p[1], F_SETPIPE_SZ, 100000), 131072, 0);
	CHECK_EQ("F_GETPIPE_SZ reads the new size back",
		 fcntl(p[0], F_GETPIPE_SZ), 131072);
	CHECK("F_SETPIPE_SZ of 0 gives one page", fcntl(p[1], F_SETPIPE_SZ, 0),
	      PAGE, 0);
	CHECK("F_SETPIPE_SZ of 1 MiB is allowed",
	      fcntl(p[1], F_SETPIPE_SZ, 1 << 20), 1 << 20, 0);
	write(p[1], big, sizeof(big));
	write(p[1], big, PAGE);
	CHECK_ERR("F_SETPIPE_SZ below the pages in use gives EBUSY",
		  fcntl(p[1], F_SETPIPE_SZ, PAGE), EBUSY);
	close(p[0]);
	close(p[1]);
	n = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK_ERR("F_GETPIPE_SZ on a non-pipe gives EBADF",
		  fcntl(n, F_GETPIPE_SZ), EBADF);
	close(n);

	CHECK_ERR("pipe2 with an unknown flag gives EINVAL",
		  pipe2(q, O_APPEND), EINVAL);
	CHECK_ERR("pipe2 into a bad pointer gives EFAULT",
		  syscall(SYS_pipe2, BAD_PTR, 0), EFAULT);

	pipe2(p, O_DIRECT);
	write(p[1], "abc", 3);
	write(p[1], "de", 2);
	CHECK("in packet mode (O_DIRECT) a read returns one write",
	      read(p[0], buf, sizeof(buf)), 3, 0);
	close(p[0]);
	close(p[1]);

	return done();
}
