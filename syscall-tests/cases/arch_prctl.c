/* arch_prctl(2): ARCH_GET_FS, an ARCH_SET_FS round trip (then restore), and
 * the error paths. While FS points at the stand-in TCB nothing may touch
 * TLS (errno, stdio), so that stretch uses inline-asm syscalls only. */
#include "tap.h"

#include <asm/prctl.h>

/* syscall(2) without glibc: returns -errno on failure, never touches TLS. */
static inline long raw2(long nr, long a, long b)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline unsigned long read_fs0(void)
{
	unsigned long v;

	__asm__ volatile("mov %%fs:0, %0" : "=r"(v));
	return v;
}

int main(void)
{
	static unsigned long fake[64] __attribute__((aligned(64)));
	unsigned long fs = 0, got = 0, self = 0;
	long get_ret, set_ret, get2_ret, restore_ret, seen, bad_ret, brestore;

	plan(11);

	get_ret = raw2(SYS_arch_prctl, ARCH_GET_FS, (long)&fs);
	CHECK_EQ("ARCH_GET_FS succeeds", get_ret, 0);
	CHECK_TRUE("the FS base is glibc's TCB (its first word points to itself)",
		   fs != 0 && read_fs0() == fs);

	/* A stand-in TCB: a copy of the real one (so a stack-protector canary
	 * at %fs:0x28 still matches) whose self pointer names the copy. */
	memcpy(fake, (void *)fs, sizeof(fake));
	fake[0] = (unsigned long)fake;

	set_ret = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)fake);
	seen = (long)read_fs0();
	get2_ret = raw2(SYS_arch_prctl, ARCH_GET_FS, (long)&got);
	restore_ret = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)fs);
	self = read_fs0();

	CHECK_EQ("ARCH_SET_FS to another TCB succeeds", set_ret, 0);
	CHECK_TRUE("%fs:0 then reads the new TCB", seen == (long)fake);
	CHECK_EQ("ARCH_GET_FS then succeeds", get2_ret, 0);
	CHECK_TRUE("ARCH_GET_FS reads the new base back",
		   got == (unsigned long)fake);
	CHECK_EQ("ARCH_SET_FS back to the saved base succeeds", restore_ret, 0);
	CHECK_TRUE("the original TCB is back", self == fs);

	bad_ret = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)(1UL << 63));
	brestore = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)fs);
	CHECK_TRUE("ARCH_SET_FS to a non-user address gives EPERM",
		   bad_ret == -EPERM && brestore == 0);

	CHECK_EQ("ARCH_GET_FS into a bad pointer gives EFAULT",
		 raw2(SYS_arch_prctl, ARCH_GET_FS, (long)BAD_PTR), -EFAULT);
	CHECK_EQ("an unknown code gives EINVAL",
		 raw2(SYS_arch_prctl, 0x9999, 0), -EINVAL);
	return done();
}
