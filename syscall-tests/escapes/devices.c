/*
 * devices: no host device access. mknod of the host disk's numbers (from
 * the st_dev of a host file), of /dev/mem's and /dev/kmsg's, must be EPERM
 * or give a node that cannot be opened; the host's block devices, /dev/mem
 * and /dev/kmsg must not open. Every open is O_RDONLY and only the disk is
 * read (one sector, natively: a harmless read).
 */
#include "escape.h"

#include <dirent.h>
#include <sys/sysmacros.h>

/* mknod a node at /tmp/TAG-what and open (and read) it. */
static enum verdict mknod_open(const char *what, mode_t type, dev_t dev)
{
	char path[256], buf[512];
	int fd;
	ssize_t n;

	marker_path(path, sizeof(path), what);
	if (mknod(path, type | 0600, dev) != 0) {
		detail("mknod %s %u:%u: %s", path, major(dev), minor(dev),
		       strerror(errno));
		return HELD;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		detail("mknod %u:%u worked; open: %s", major(dev), minor(dev),
		       strerror(errno));
		return HELD;
	}
	n = S_ISBLK(type) ? read(fd, buf, sizeof(buf)) : 0;
	close(fd);
	detail("mknod %u:%u and open worked%s", major(dev), minor(dev),
	       S_ISBLK(type) ? (n > 0 ? ", read a sector" : ", read failed") : "");
	return ESCAPED;
}

/*
 * The numbers of the first block device /dev lists (natively a real host
 * disk), else those of the device holding a host file (what a sandbox
 * whose /dev has no disks still learns from stat).
 */
static enum verdict mknod_disk(void)
{
	DIR *d = opendir("/dev");
	struct dirent *e;
	char path[300];
	struct stat st;

	while (d && (e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		if (lstat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
			closedir(d);
			return mknod_open("disk", S_IFBLK, st.st_rdev);
		}
	}
	if (d)
		closedir(d);
	if (stat("/etc/hostname", &st) != 0 && stat("/", &st) != 0) {
		detail("stat: %s", strerror(errno));
		return HELD;
	}
	return mknod_open("disk", S_IFBLK, st.st_dev);
}

static enum verdict mknod_mem(void)
{
	return mknod_open("mem", S_IFCHR, makedev(1, 1));
}

static enum verdict mknod_kmsg(void)
{
	return mknod_open("kmsg", S_IFCHR, makedev(1, 11));
}

static enum verdict open_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK);

	if (fd < 0) {
		detail("open %s: %s", path, strerror(errno));
		return HELD;
	}
	close(fd);
	detail("opened %s", path);
	return ESCAPED;
}

static enum verdict open_mem(void)
{
	return open_path("/dev/mem");
}

static enum verdict open_kmsg(void)
{
	return open_path("/dev/kmsg");
}

/* Opens the first block device /dev lists. */
static enum verdict open_block_device(void)
{
	DIR *d = opendir("/dev");
	struct dirent *e;
	char path[300];
	struct stat st;

	if (!d) {
		detail("opendir /dev: %s", strerror(errno));
		return HELD;
	}
	while ((e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		if (lstat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
			closedir(d);
			return open_path(path);
		}
	}
	closedir(d);
	detail("no block device in /dev");
	return HELD;
}

int main(int argc, char **argv)
{
	escape_init(argc, argv);
	attack("mknod_host_disk_and_read", NATIVE_AS_ROOT, NULL, mknod_disk, 10);
	/* 1:1 is ENXIO on hosts without CONFIG_DEVMEM. */
	attack("mknod_dev_mem", NATIVE_NA, NULL, mknod_mem, 10);
	attack("mknod_dev_kmsg", NATIVE_AS_ROOT, NULL, mknod_kmsg, 10);
	/* /dev/mem is absent on many hosts (CONFIG_DEVMEM=n). */
	attack("open_dev_mem", NATIVE_NA, NULL, open_mem, 10);
	attack("open_dev_kmsg", NATIVE_AS_ROOT, NULL, open_kmsg, 10);
	attack("open_host_block_device", NATIVE_AS_ROOT, NULL, open_block_device, 10);
	return escape_done();
}
