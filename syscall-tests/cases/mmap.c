/* mmap(2): anonymous and file-backed mappings, MAP_FIXED, and the error
 * paths. No case touches memory it may not access: a fault would be a
 * signal, and this stage delivers none. */
#include "tap.h"

#include <sys/mman.h>

#define PAGE 4096L

static int is_zero(const volatile unsigned char *p, long n)
{
	long i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(void)
{
	static char whole[65536];
	char check[64];
	volatile unsigned char *p, *q;
	long size, i;
	int fd, dfd, kept;

	plan(26);

	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_TRUE("anonymous private mapping succeeds", p != MAP_FAILED);
	need(p != MAP_FAILED, "anonymous mmap");
	CHECK_TRUE("it is page aligned", ((unsigned long)p & (PAGE - 1)) == 0);
	CHECK_TRUE("it reads as zero", is_zero(p, 4 * PAGE));
	for (i = 0; i < 4 * PAGE; i++)
		p[i] = (unsigned char)(i * 7);
	kept = 1;
	for (i = 0; i < 4 * PAGE; i++)
		kept &= p[i] == (unsigned char)(i * 7);
	CHECK_TRUE("writes read back", kept);

	q = mmap((void *)(p + PAGE), PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK_TRUE("MAP_FIXED returns the requested address", q == p + PAGE);
	need(q == p + PAGE, "MAP_FIXED mmap");
	CHECK_TRUE("the replaced page reads as zero", is_zero(q, PAGE));
	CHECK_TRUE("its neighbours keep their contents",
		   p[0] == 0 && p[1] == 7 &&
			   p[2 * PAGE] == (unsigned char)(2 * PAGE * 7));
	CHECK_ERR("MAP_FIXED_NOREPLACE over a mapping gives EEXIST",
		  mmap((void *)p, PAGE, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
		  EEXIST);
	munmap((void *)p, 4 * PAGE);

	p = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_TRUE("a PROT_NONE mapping succeeds", p != MAP_FAILED);
	munmap((void *)p, PAGE);

	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK_TRUE("an anonymous shared mapping succeeds", p != MAP_FAILED);
	need(p != MAP_FAILED, "shared anonymous mmap");
	p[0] = 42;
	p[PAGE + 1] = 43;
	CHECK_TRUE("it reads back what was written",
		   p[0] == 42 && p[PAGE + 1] == 43 && p[1] == 0);
	munmap((void *)p, 2 * PAGE);

	size = slurp("/etc/passwd", whole, sizeof(whole));
	if (size <= 0)
		size = 1;
	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK_TRUE("a private mapping of /etc/passwd succeeds",
		   p != MAP_FAILED);
	need(p != MAP_FAILED, "file mmap");
	CHECK_TRUE("it equals what read() gives",
		   memcmp((const void *)p, whole, (size_t)size) == 0);
	CHECK_TRUE("the rest of the last page reads as zero",
		   size % PAGE == 0 ||
			   is_zero(p + size, PAGE - size % PAGE));
	munmap((void *)p, size);

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK_TRUE("a writable private mapping of a read-only fd succeeds",
		   p != MAP_FAILED);
	need(p != MAP_FAILED, "writable private file mmap");
	p[0] = 'X';
	pread(fd, check, 1, 0);
	CHECK_TRUE("writing it changes the mapping, not the file",
		   p[0] == 'X' && check[0] == whole[0] && whole[0] != 'X');
	munmap((void *)p, size);

	CHECK_ERR("MAP_SHARED|PROT_WRITE on a read-only fd gives EACCES",
		  mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
		  EACCES);
	CHECK_ERR("an unaligned offset gives EINVAL",
		  mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 1), EINVAL);
	dfd = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_ERR("mapping a directory gives ENODEV",
		  mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, dfd, 0), ENODEV);
	close(dfd);

	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE,
		 open("/dev/zero", O_RDONLY | O_CLOEXEC), 0);
	CHECK_TRUE("a private mapping of /dev/zero reads as zero",
		   p != MAP_FAILED && is_zero(p, PAGE));

	CHECK_ERR("a bad fd gives EBADF",
		  syscall(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, 9999, 0),
		  EBADF);
	CHECK_ERR("length 0 gives EINVAL",
		  syscall(SYS_mmap, 0, 0, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
	CHECK_ERR("an unaligned address with MAP_FIXED gives EINVAL",
		  syscall(SYS_mmap, 0x10000001L, PAGE, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
		  EINVAL);
	CHECK_ERR("neither MAP_SHARED nor MAP_PRIVATE gives EINVAL",
		  syscall(SYS_mmap, 0, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0),
		  EINVAL);
	CHECK_ERR("an absurd length gives ENOMEM",
		  syscall(SYS_mmap, 0, 1L << 62, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
	CHECK_ERR("a file mapping of a write-only fd gives EACCES",
		  syscall(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE,
			  open("/dev/null", O_WRONLY | O_CLOEXEC), 0), EACCES);
	close(fd);
	return done();
}
