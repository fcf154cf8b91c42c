/* SPDX-License-Identifier: MIT */
/* Opening paths as the agent does: within a root, and the directory of an
 * open file, whose path from /proc/self/fd is only a guess to check. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/resolve.h"
#include "tap.h"

static char top[PATH_MAX];

static void make(const char *rel, const char *link_target)
{
	char path[PATH_MAX * 2];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if (link_target) {
		CHECK(symlink(link_target, path) == 0);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	close(fd);
}

static void mkdir_rel(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	CHECK(mkdir(path, 0700) == 0);
}

static int open_rel(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	return open(path, O_PATH | O_CLOEXEC);
}

static void test_parent_on_the_host(void)
{
	char name[NAME_MAX + 1], path[PATH_MAX * 2];
	int file, dir, want;

	mkdir_rel("a");
	make("a/file", NULL);
	make("link", "a/file");
	snprintf(path, sizeof(path), "%s/link", top);
	file = resolve_open(-1, path, true);
	CHECK(file >= 0);
	dir = resolve_open_parent(file, -1, name);
	want = open_rel("a");
	CHECK(dir >= 0);
	CHECK_STREQ(name, "file"); /* the file's name, not the symlink's */
	CHECK(resolve_same_file(dir, want));
	CHECK(!resolve_same_file(dir, file));
	close(dir);
	close(want);
	close(file);
}

/* Within a root, the path /proc/self/fd shows is the host's: a file at that
 * path inside the root is another file, and is refused. */
static void test_parent_guess_checked(void)
{
	char name[NAME_MAX + 1], decoy[PATH_MAX * 8], host_path[PATH_MAX * 2];
	int root, file, dir;

	mkdir_rel("root");
	mkdir_rel("root/etc");
	make("root/etc/shadow", NULL);
	root = open_rel("root");
	file = resolve_open(root, "/etc/shadow", true);
	CHECK(file >= 0);
	/* Nothing at the host's path inside the root: not found. */
	CHECK(resolve_open_parent(file, root, name) < 0);
	/* A decoy there: a file, but not this one. */
	snprintf(host_path, sizeof(host_path), "%s/root/etc", top);
	snprintf(decoy, sizeof(decoy), "mkdir -p '%s/root%s' && touch '%s/root%s/shadow'", top, host_path, top,
		 host_path);
	CHECK(system(decoy) == 0);
	dir = resolve_open_parent(file, root, name);
	CHECK(dir == -ESTALE);
	/* A removed file has no directory. */
	CHECK(unlinkat(root, "etc/shadow", 0) == 0);
	CHECK(resolve_open_parent(file, -1, name) == -ESTALE);
	close(file);
	close(root);
}

int main(void)
{
	char tmpl[] = "/tmp/hive-test-resolve-XXXXXX", cmd[PATH_MAX + 32];
	int status;

	if (!mkdtemp(tmpl))
		return 1;
	snprintf(top, sizeof(top), "%s", tmpl);
	RUN(test_parent_on_the_host);
	RUN(test_parent_guess_checked);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	status = system(cmd);
	(void)status;
	return TAP_END();
}
