/* memfd_create: an anonymous regular file; its flags; reads, writes,
 * ftruncate and a MAP_SHARED mapping of it; its name in /proc/self/fd;
 * error paths (bad flags, a name too long, a bad name pointer). */
#include "tap.h"

#include <sys/mman.h>
#include <sys/syscall.h>

int main(void)
{
	char name[300], buf[32], link[64], target[256];
	struct stat st;
	char *map;
	ssize_t n;
	int fd, fd2;

	plan(14);
	fd = memfd_create("ward-test", 0);
	CHECK_TRUE("memfd_create returns an fd", fd >= 0);
	need(fd >= 0, "a memfd");
	CHECK_OK("fstat of a memfd", fstat(fd, &st));
	CHECK_TRUE("it is an empty regular file", S_ISREG(st.st_mode) && st.st_size == 0);
	CHECK_EQ("it is open read-write", fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	CHECK_EQ("no FD_CLOEXEC without MFD_CLOEXEC", fcntl(fd, F_GETFD), 0);
	CHECK("write to a memfd", write(fd, "hello memfd", 11), 11, 0);
	n = pread(fd, buf, sizeof(buf), 0);
	CHECK_TRUE("pread reads it back", n == 11 && memcmp(buf, "hello memfd", 11) == 0);
	CHECK_OK("ftruncate grows it", ftruncate(fd, 8192));
	map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK_TRUE("MAP_SHARED mapping sees the data and writes through",
		   map != MAP_FAILED && memcmp(map, "hello", 5) == 0 &&
			   (memcpy(map + 4096, "page2", 5), pread(fd, buf, 5, 4096) == 5) &&
			   memcmp(buf, "page2", 5) == 0);
	if (map != MAP_FAILED)
		munmap(map, 8192);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n >= 0)
		target[n] = 0;
	CHECK_TRUE("/proc/self/fd names it memfd:NAME",
		   n > 0 && strncmp(target, "/memfd:ward-test", 16) == 0);
	close(fd);

	fd2 = memfd_create("x", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK_EQ("MFD_CLOEXEC sets FD_CLOEXEC", fd2 >= 0 ? fcntl(fd2, F_GETFD) : -1, FD_CLOEXEC);
	if (fd2 >= 0)
		close(fd2);
	CHECK_ERR("unknown flags are EINVAL", memfd_create("x", 0x100), EINVAL);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	CHECK_ERR("a name over 249 bytes is EINVAL", memfd_create(name, 0), EINVAL);
	CHECK_ERR("a bad name pointer is EFAULT", syscall(SYS_memfd_create, BAD_PTR, 0), EFAULT);
	return done();
}
