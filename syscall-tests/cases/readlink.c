/* readlinkat(2): reading a symlink, truncation, and the error paths. */
#include "tap.h"

int main(void)
{
	const char *link = find_symlink();
	char buf[4096], small[4];
	struct stat st;
	long len;
	int pfd, dfd;

	plan(12);

	if (!link) {
		for (int i = 0; i < 7; i++)
			skip("readlinkat on a symlink", "no symlink found");
	} else {
		lstat(link, &st);
		memset(buf, 0, sizeof(buf));
		CHECK_OKV("readlinkat on a symlink succeeds",
			  syscall(SYS_readlinkat, AT_FDCWD, link, buf,
				  sizeof(buf)), len);
		CHECK_EQ("the length equals the link's st_size", len,
			 st.st_size);
		CHECK_EQ("the result is not NUL-terminated by the kernel",
			 strlen(buf), len);
		memset(small, 'x', sizeof(small));
		CHECK("a one-byte buffer returns 1 (truncated)",
		      syscall(SYS_readlinkat, AT_FDCWD, link, small, 1), 1, 0);
		CHECK_TRUE("only the first byte is written",
			   small[0] == buf[0] && small[1] == 'x');
		pfd = open(link, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		CHECK("an empty path reads the O_PATH link fd itself",
		      syscall(SYS_readlinkat, pfd, "", small, 1), 1, 0);
		close(pfd);
		CHECK_ERR("a bad buffer pointer gives EFAULT",
			  syscall(SYS_readlinkat, AT_FDCWD, link, BAD_PTR,
				  sizeof(buf)), EFAULT);
	}

	CHECK_ERR("a zero-sized buffer gives EINVAL",
		  syscall(SYS_readlinkat, AT_FDCWD, link ? link : "/bin", buf,
			  0), EINVAL);
	CHECK_ERR("a non-symlink gives EINVAL",
		  syscall(SYS_readlinkat, AT_FDCWD, "/etc/passwd", buf,
			  sizeof(buf)), EINVAL);
	dfd = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_ERR("a non-symlink relative to a dirfd gives EINVAL",
		  syscall(SYS_readlinkat, dfd, "passwd", buf, sizeof(buf)),
		  EINVAL);
	CHECK_ERR("a nonexistent path gives ENOENT",
		  syscall(SYS_readlinkat, AT_FDCWD, "/etc/ward-none", buf,
			  sizeof(buf)), ENOENT);
	CHECK_ERR("a bad path pointer gives EFAULT",
		  syscall(SYS_readlinkat, AT_FDCWD, BAD_PTR, buf, sizeof(buf)),
		  EFAULT);
	close(dfd);
	return done();
}
