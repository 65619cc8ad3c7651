/* Changing files under /tmp, which under `ward do` is the host's /tmp
 * beneath the root's in-memory overlay: creating, writing, renaming,
 * unlinking, mkdir/rmdir, listings after changes (merged with what /tmp
 * already holds), symlinks and hard links.
 *
 * Breaks the "no files" rule on purpose: everything happens in a fresh
 * directory /tmp/ward-overlay-PID, removed at the end. */
#include "tap.h"

#include <dirent.h>

static char base[64];

/* base/name in a static buffer (one of four, so a call may take two). */
static const char *at(const char *name)
{
	static char bufs[4][128];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", base, name);
	return b;
}

static int write_file(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The whole file in buf (NUL-terminated); -1 if it cannot be read. */
static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* Whether the directory `dir` lists `name`; -1 if it cannot be listed. */
static int lists(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, name) == 0)
			found = 1;
	closedir(d);
	return found;
}

/* How many entries besides "." and ".." `dir` lists; -1 on error. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void create_points(void)
{
	char buf[64];
	struct stat st;

	CHECK_TRUE("the new directory is listed in /tmp",
		   lists("/tmp", base + 5) == 1);
	CHECK_OK("a file is created and written", write_file(at("f"), "hello\n", O_EXCL));
	CHECK_OK("the file reads back", read_file(at("f"), buf, sizeof(buf)));
	CHECK_TRUE("with what was written", strcmp(buf, "hello\n") == 0);
	CHECK_ERR("O_CREAT|O_EXCL of it again is EEXIST",
		  open(at("f"), O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	CHECK_OK("O_APPEND adds to it", write_file(at("f"), "more\n", O_APPEND));
	CHECK_OK("stat of it", stat(at("f"), &st));
	CHECK_EQ("its size counts both writes", st.st_size, 11);
	CHECK_EQ("it is a regular file with mode 0644",
		 st.st_mode & (S_IFMT | 07777), S_IFREG | 0644);
	CHECK_OK("O_TRUNC empties it", write_file(at("f"), "x", O_TRUNC));
	CHECK_OK("stat after O_TRUNC", stat(at("f"), &st));
	CHECK_EQ("it holds only the last write", st.st_size, 1);
	CHECK_OK("chmod of it", chmod(at("f"), 0600));
	CHECK_OK("stat after chmod", stat(at("f"), &st));
	CHECK_EQ("the mode changed", st.st_mode & 07777, 0600);
	CHECK_OK("truncate grows it", truncate(at("f"), 100));
	CHECK_OK("stat after truncate", stat(at("f"), &st));
	CHECK_EQ("to the new size", st.st_size, 100);
}

static void rename_points(void)
{
	char buf[64];

	CHECK_OK("rename to a new name", rename(at("f"), at("g")));
	CHECK_ERR("the old name is gone", access(at("f"), F_OK), ENOENT);
	CHECK_OK("the new name is there", access(at("g"), F_OK));
	CHECK_OK("a second file", write_file(at("h"), "other\n", 0));
	CHECK_OK("rename over an existing file", rename(at("h"), at("g")));
	CHECK_OK("the replaced name reads", read_file(at("g"), buf, sizeof(buf)));
	CHECK_TRUE("as the moved file", strcmp(buf, "other\n") == 0);
	CHECK_ERR("the moved file's old name is gone", access(at("h"), F_OK), ENOENT);
}

static void dir_points(void)
{
	CHECK_OK("mkdir", mkdir(at("d"), 0755));
	CHECK_ERR("mkdir of it again is EEXIST", mkdir(at("d"), 0755), EEXIST);
	CHECK_OK("a file in the new directory", write_file(at("d/x"), "x", 0));
	CHECK_ERR("rmdir of a non-empty directory is ENOTEMPTY", rmdir(at("d")),
		  ENOTEMPTY);
	CHECK_OK("a directory renamed", rename(at("d"), at("e")));
	CHECK_OK("its file follows it", access(at("e/x"), F_OK));
	CHECK_OK("unlink of the file", unlink(at("e/x")));
	CHECK_OK("rmdir of the emptied directory", rmdir(at("e")));
	CHECK_ERR("it is gone", access(at("e"), F_OK), ENOENT);
	CHECK_OK("mkdir again where it was", mkdir(at("e"), 0755));
	CHECK_EQ("the new directory is empty", count_entries(at("e")), 0);
	CHECK_OK("rmdir of it", rmdir(at("e")));
}

static void listing_points(void)
{
	CHECK_OK("a file to list", write_file(at("a"), "a", 0));
	CHECK_EQ("the listing shows the two files", count_entries(base), 2);
	CHECK_EQ("including the new one", lists(base, "a"), 1);
	CHECK_OK("unlink of it", unlink(at("a")));
	CHECK_EQ("the listing no longer shows it", lists(base, "a"), 0);
	CHECK_EQ("one file is left", count_entries(base), 1);
}

static void link_points(void)
{
	char buf[64];
	struct stat a, b;
	ssize_t n;

	CHECK_OK("symlink", symlink("g", at("s")));
	n = readlink(at("s"), buf, sizeof(buf) - 1);
	CHECK_EQ("readlink gives its target", n, 1);
	CHECK_OK("reading through it", read_file(at("s"), buf, sizeof(buf)));
	CHECK_TRUE("reads the target", strcmp(buf, "other\n") == 0);
	CHECK_OK("hard link", link(at("g"), at("hl")));
	CHECK_OK("stat of the file", stat(at("g"), &a));
	CHECK_OK("stat of the link", stat(at("hl"), &b));
	CHECK_TRUE("both names are one inode",
		   a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	CHECK_EQ("with two links", b.st_nlink, 2);
	CHECK_OK("unlink of the first name", unlink(at("g")));
	CHECK_OK("the link still reads", read_file(at("hl"), buf, sizeof(buf)));
	CHECK_TRUE("the data", strcmp(buf, "other\n") == 0);
	CHECK_ERR("the symlink dangles", access(at("s"), F_OK), ENOENT);
	CHECK_OK("unlink of the symlink", unlink(at("s")));
	CHECK_OK("unlink of the link", unlink(at("hl")));
}

static void cleanup(void)
{
	static const char *const files[] = { "f", "g", "h", "a", "s", "hl", "d/x", "e/x" };
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(at(files[i]));
	rmdir(at("d"));
	rmdir(at("e"));
	CHECK_EQ("the test directory is empty at the end", count_entries(base), 0);
	CHECK_OK("the test directory is removed", rmdir(base));
	CHECK_EQ("and no longer listed in /tmp", lists("/tmp", base + 5), 0);
}

int main(void)
{
	plan(63);
	snprintf(base, sizeof(base), "/tmp/ward-overlay-%d", (int)getpid());
	CHECK_OK("mkdir of a fresh directory in /tmp", mkdir(base, 0700));
	need(access(base, W_OK) == 0, "making the test directory");
	create_points();
	rename_points();
	dir_points();
	listing_points();
	link_points();
	cleanup();
	return done();
}
