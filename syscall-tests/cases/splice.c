/* sendfile, copy_file_range, splice, tee, vmsplice: file to file, file to
 * pipe, pipe to file, pipe to pipe; offsets given and not; error paths
 * (ESPIPE, EINVAL, EBADF). Works in a fresh directory under /tmp. */
#include "tap.h"

#include <sys/sendfile.h>
#include <sys/uio.h>

static char base[64];

static const char *at(const char *name)
{
	static char bufs[4][128];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", base, name);
	return b;
}

int main(void)
{
	char buf[64];
	int src, dst, p[2], q[2];
	loff_t off, off2;
	off_t soff;
	struct iovec iov;

	plan(26);
	snprintf(base, sizeof(base), "/tmp/ward-splice-%d", (int)getpid());
	need(mkdir(base, 0700) == 0, "a fresh directory");
	src = open(at("src"), O_RDWR | O_CREAT, 0600);
	dst = open(at("dst"), O_RDWR | O_CREAT, 0600);
	need(src >= 0 && dst >= 0 && pipe(p) == 0 && pipe(q) == 0, "files and pipes");
	need(write(src, "0123456789abcdef", 16) == 16, "source data");

	/* sendfile */
	soff = 4;
	CHECK("sendfile with an offset copies", sendfile(dst, src, &soff, 6), 6, 0);
	CHECK_EQ("sendfile advanced the offset", (long)soff, 10);
	CHECK_EQ("sendfile left the file position", (long)lseek(src, 0, SEEK_CUR), 16);
	CHECK_TRUE("the copy landed", pread(dst, buf, 6, 0) == 6 && memcmp(buf, "456789", 6) == 0);
	lseek(src, 10, SEEK_SET);
	CHECK("sendfile at the file position to a pipe", sendfile(p[1], src, NULL, 100), 6, 0);
	CHECK_TRUE("the pipe holds the rest", read(p[0], buf, 64) == 6 && memcmp(buf, "abcdef", 6) == 0);
	soff = 0;
	CHECK_ERR("sendfile from a pipe with an offset is ESPIPE", sendfile(dst, p[0], &soff, 1), ESPIPE);
	CHECK_ERR("sendfile to a read-only fd is EBADF", sendfile(p[0], src, NULL, 1), EBADF);

	/* copy_file_range */
	off = 0;
	off2 = 100;
	CHECK("copy_file_range with offsets", copy_file_range(src, &off, dst, &off2, 16, 0), 16, 0);
	CHECK_TRUE("offsets advanced", off == 16 && off2 == 116);
	CHECK_TRUE("the data is there", pread(dst, buf, 16, 100) == 16 && memcmp(buf, "0123456789abcdef", 16) == 0);
	CHECK_ERR("copy_file_range with flags is EINVAL", copy_file_range(src, NULL, dst, NULL, 1, 1), EINVAL);
	CHECK_ERR("copy_file_range from a pipe is EINVAL", copy_file_range(p[0], NULL, dst, NULL, 1, 0), EINVAL);
	off = 0;
	off2 = 4;
	CHECK_ERR("overlapping ranges of one file are EINVAL", copy_file_range(src, &off, src, &off2, 8, 0), EINVAL);

	/* splice */
	off = 2;
	CHECK("splice file to pipe with an offset", splice(src, &off, p[1], NULL, 5, 0), 5, 0);
	CHECK_EQ("splice advanced the offset", (long)off, 7);
	off2 = 200;
	CHECK("splice pipe to file", splice(p[0], NULL, dst, &off2, 64, 0), 5, 0);
	CHECK_TRUE("the file got it", pread(dst, buf, 5, 200) == 5 && memcmp(buf, "23456", 5) == 0);
	CHECK_ERR("splice with no pipe is EINVAL", splice(src, NULL, dst, NULL, 1, 0), EINVAL);
	off = 0;
	CHECK_ERR("an offset for the pipe side is ESPIPE", splice(p[0], &off, dst, NULL, 1, 0), ESPIPE);
	CHECK_ERR("an empty pipe with SPLICE_F_NONBLOCK is EAGAIN",
		  splice(p[0], NULL, dst, NULL, 1, SPLICE_F_NONBLOCK), EAGAIN);

	/* tee and vmsplice */
	iov.iov_base = "teedata";
	iov.iov_len = 7;
	CHECK("vmsplice into a pipe", vmsplice(p[1], &iov, 1, 0), 7, 0);
	CHECK("tee copies without consuming", tee(p[0], q[1], 100, 0), 7, 0);
	CHECK_TRUE("both pipes hold it", read(q[0], buf, 64) == 7 && read(p[0], buf + 8, 56) == 7 &&
						 memcmp(buf, "teedata", 7) == 0 && memcmp(buf + 8, "teedata", 7) == 0);
	CHECK_ERR("tee from a file is EINVAL", tee(src, q[1], 1, 0), EINVAL);
	CHECK_ERR("tee of a pipe to itself is EINVAL", tee(p[0], p[1], 1, 0), EINVAL);

	close(src);
	close(dst);
	unlink(at("src"));
	unlink(at("dst"));
	rmdir(base);
	return done();
}
