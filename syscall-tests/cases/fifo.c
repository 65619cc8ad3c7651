/* Named pipes: mkfifo in a fresh /tmp directory (the overlay's upper
 * tmpfs under `ward do`), then open's rendezvous as fs/pipe.c's fifo_open
 * does it (a reader waits for a writer, a writer for a reader, O_NONBLOCK
 * writers get ENXIO, O_RDWR never waits), the data flowing as through a
 * pipe, fstat naming the FIFO's inode, and the data dropped when the last
 * end closes.
 *
 * Breaks the "no files" rule on purpose: everything happens in a fresh
 * directory /tmp/ward-fifo-PID, removed at the end. */
#include "tap.h"
#include "proc.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>

static char base[64];
static char path[96];

/* A writer that opens the FIFO (blocking), writes "hello" and exits. */
static int writer_child(void *arg)
{
	int fd;

	(void)arg;
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return 1;
	if (write(fd, "hello", 5) != 5)
		return 2;
	close(fd);
	return 0;
}

/* A reader that opens the FIFO (blocking), reads "hi" and exits. */
static int reader_child(void *arg)
{
	char buf[8] = { 0 };
	int fd;

	(void)arg;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 1;
	if (read(fd, buf, sizeof(buf)) != 2 || memcmp(buf, "hi", 2) != 0)
		return 2;
	close(fd);
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A blocking open with no partner, interrupted by a signal whose handler
 * has no SA_RESTART: EINTR; and the FIFO has no reader left behind. */
static void interrupted_scenario(void *arg)
{
	struct sigaction sa;
	(void)arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	S_CHECK_ERR("a blocking open with no writer is interrupted: EINTR",
		    open(path, O_RDONLY), EINTR);
	S_CHECK_ERR("the interrupted reader is gone: ENXIO for a writer",
		    open(path, O_WRONLY | O_NONBLOCK), ENXIO);
}

int main(void)
{
	struct stat st, fst;
	struct pollfd pfd;
	char buf[16];
	int r, w, rw, status;
	pid_t pid;

	plan(20);
	snprintf(base, sizeof(base), "/tmp/ward-fifo-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/f", base);
	if (mkdir(base, 0700) != 0) {
		for (int i = 0; i < 20; i++)
			skip("fifo", "cannot make a directory in /tmp");
		return done();
	}

	CHECK_OK("mkfifo", mkfifo(path, 0600));
	CHECK_TRUE("stat says S_IFIFO", stat(path, &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK_ERR("O_WRONLY|O_NONBLOCK with no reader: ENXIO",
		  open(path, O_WRONLY | O_NONBLOCK), ENXIO);

	r = open(path, O_RDONLY | O_NONBLOCK);
	CHECK_TRUE("O_RDONLY|O_NONBLOCK opens at once", r >= 0);
	CHECK_EQ("read with no writer yet is EOF", read(r, buf, sizeof(buf)), 0);
	pfd = (struct pollfd){ .fd = r, .events = POLLIN };
	CHECK_EQ("no POLLHUP before any writer came", poll(&pfd, 1, 0), 0);
	CHECK_TRUE("fstat names the FIFO's inode",
		   fstat(r, &fst) == 0 && S_ISFIFO(fst.st_mode) &&
			   fst.st_ino == st.st_ino && fst.st_dev == st.st_dev);

	w = open(path, O_WRONLY | O_NONBLOCK);
	CHECK_TRUE("O_WRONLY|O_NONBLOCK opens once a reader is there", w >= 0);
	CHECK_EQ("write", write(w, "abc", 3), 3);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ("the reader reads what was written", read(r, buf, sizeof(buf)), 3);
	CHECK_TRUE("the same bytes", memcmp(buf, "abc", 3) == 0);
	close(w);
	pfd = (struct pollfd){ .fd = r, .events = POLLIN };
	CHECK_TRUE("POLLHUP once the writer left",
		   poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP));
	close(r);

	/* A blocking writer waits for this reader; the data then flows. */
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(writer_child(NULL));
	r = open(path, O_RDONLY);
	memset(buf, 0, sizeof(buf));
	CHECK_TRUE("a blocking reader meets a blocking writer",
		   r >= 0 && read_timeout(r, buf, 5, 3000) == 5 &&
			   memcmp(buf, "hello", 5) == 0);
	CHECK_TRUE("the writer finished",
		   reap(pid, &status, 3000) == 1 && status == 0);
	if (r >= 0)
		close(r);

	/* A blocking reader waits for this writer. */
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(reader_child(NULL));
	w = open(path, O_WRONLY);
	CHECK_EQ("a blocking writer meets a blocking reader",
		 w >= 0 ? write(w, "hi", 2) : -1, 2);
	if (w >= 0)
		close(w);
	CHECK_TRUE("the reader read it",
		   reap(pid, &status, 3000) == 1 && status == 0);

	rw = open(path, O_RDWR | O_NONBLOCK);
	CHECK_TRUE("O_RDWR never waits, and reads its own writes",
		   rw >= 0 && write(rw, "x", 1) == 1 &&
			   read(rw, buf, sizeof(buf)) == 1 && buf[0] == 'x');
	if (rw >= 0) {
		write(rw, "y", 1);
		close(rw);
	}
	rw = open(path, O_RDWR | O_NONBLOCK);
	CHECK_ERR("data goes when the last end closes: EAGAIN",
		  rw >= 0 ? read(rw, buf, sizeof(buf)) : -2, EAGAIN);
	if (rw >= 0)
		close(rw);

	scenario("interrupted", 2, interrupted_scenario, NULL);

	unlink(path);
	rmdir(base);
	return done();
}
