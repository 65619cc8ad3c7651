/* madvise(2): MADV_DONTNEED drops private pages (anonymous memory reads
 * back zero, a private file mapping reads the file again) but not shared
 * anonymous ones; other advice and the error paths. */
#include "tap.h"

#include <sys/mman.h>

#define PAGE 4096L
#define RW (PROT_READ | PROT_WRITE)

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
	volatile unsigned char *p, *hole;
	char first;
	int fd;

	plan(12);

	p = mmap(NULL, 2 * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	need(p != MAP_FAILED, "anonymous mmap");
	memset((void *)p, 0x5a, 2 * PAGE);
	CHECK("MADV_DONTNEED succeeds",
	      madvise((void *)p, PAGE, MADV_DONTNEED), 0, 0);
	CHECK_TRUE("the dropped anonymous page reads back zero",
		   is_zero(p, PAGE));
	CHECK_TRUE("the page after it is untouched",
		   p[PAGE] == 0x5a && p[2 * PAGE - 1] == 0x5a);
	munmap((void *)p, 2 * PAGE);

	p = mmap(NULL, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	need(p != MAP_FAILED, "shared anonymous mmap");
	p[0] = 0x77;
	madvise((void *)p, PAGE, MADV_DONTNEED);
	CHECK_TRUE("shared anonymous memory survives MADV_DONTNEED",
		   p[0] == 0x77);
	munmap((void *)p, PAGE);

	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	pread(fd, &first, 1, 0);
	p = mmap(NULL, PAGE, RW, MAP_PRIVATE, fd, 0);
	need(p != MAP_FAILED, "private file mmap");
	p[0] = (unsigned char)(first ^ 0xff);
	madvise((void *)p, PAGE, MADV_DONTNEED);
	CHECK_TRUE("a private file page reads the file again after DONTNEED",
		   p[0] == (unsigned char)first);
	munmap((void *)p, PAGE);
	close(fd);

	p = mmap(NULL, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	need(p != MAP_FAILED, "anonymous mmap");
	CHECK("MADV_NORMAL succeeds", madvise((void *)p, PAGE, MADV_NORMAL),
	      0, 0);
	CHECK("MADV_WILLNEED succeeds",
	      madvise((void *)p, PAGE, MADV_WILLNEED), 0, 0);
	CHECK("MADV_SEQUENTIAL succeeds",
	      madvise((void *)p, PAGE, MADV_SEQUENTIAL), 0, 0);
	CHECK("length 0 succeeds", madvise((void *)p, 0, MADV_DONTNEED), 0, 0);
	CHECK_ERR("an unknown advice gives EINVAL",
		  madvise((void *)p, PAGE, 999), EINVAL);
	CHECK_ERR("an unaligned address gives EINVAL",
		  madvise((void *)(p + 1), PAGE, MADV_NORMAL), EINVAL);
	hole = p;
	munmap((void *)p, PAGE);
	CHECK_ERR("an unmapped range gives ENOMEM",
		  madvise((void *)hole, PAGE, MADV_NORMAL), ENOMEM);
	return done();
}
