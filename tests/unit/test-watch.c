/* SPDX-License-Identifier: MIT */
#include "watch/watch.h"
#include "tap.h"

static struct watch_entry *entry(const char *key, uint64_t ino, uint32_t access, const char *policy)
{
	struct hive_watch_key file = { .ino = ino, .dev = (8 << 20) | 1 };

	return watch_entry_new(key, &file, access, policy, "/etc/shadow", "node-1");
}

static void test_entries_group_by_inode(void)
{
	struct hive_watch_key file = { .ino = 10, .dev = (8 << 20) | 1 };
	const struct watch_inode *inode;
	struct watch_set *s;
	uint32_t id;

	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_put(s, entry("host/a//etc/shadow", 10, HIVE_MAY_READ, "a")) == 0);
	CHECK(watch_set_put(s, entry("host/b//etc/shadow", 10, HIVE_MAY_WRITE, "b")) == 0);
	CHECK(watch_set_put(s, entry("host/b//etc/passwd", 11, HIVE_MAY_WRITE, "b")) == 0);
	CHECK(watch_set_n_entries(s) == 3);
	CHECK(watch_set_n_inodes(s) == 2);

	inode = watch_set_find(s, 1, &file);
	CHECK(inode != NULL);
	if (!inode)
		return;
	CHECK(inode->n_entries == 2);
	CHECK(inode->access == (HIVE_MAY_READ | HIVE_MAY_WRITE));
	id = inode->id;

	/* The file decides, not the id: an event with another inode's id (a
	 * previous agent's, after a restart) is the event's file's, or none. */
	file.ino = 11;
	inode = watch_set_find(s, id, &file);
	CHECK(inode && inode->file.ino == 11 && inode->n_entries == 1);
	file.ino = 12;
	CHECK(watch_set_find(s, id, &file) == NULL);
	file.ino = 10;
	CHECK(watch_set_find(s, id + 1000, &file) == watch_set_find(s, id, &file));

	CHECK(watch_set_remove(s, "host/b//etc/shadow") == 0);
	inode = watch_set_find(s, id, &file);
	CHECK(inode && inode->access == HIVE_MAY_READ && inode->n_entries == 1);
	CHECK(watch_set_remove(s, "host/a//etc/shadow") == 0);
	CHECK(watch_set_find(s, id, &file) == NULL);
	CHECK(watch_set_n_inodes(s) == 1);
	watch_set_free(s);
}

static void test_replace_moves_entry_to_new_inode(void)
{
	struct hive_watch_key old_file = { .ino = 10, .dev = (8 << 20) | 1 };
	struct hive_watch_key new_file = { .ino = 20, .dev = (8 << 20) | 1 };
	const struct watch_inode *a, *b;
	struct watch_set *s;

	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_put(s, entry("k", 10, HIVE_ACCESS_ALL, "p")) == 0);
	a = watch_set_find(s, 1, &old_file);
	CHECK(a != NULL);
	/* Re-putting an identical entry changes nothing. */
	CHECK(watch_set_put(s, entry("k", 10, HIVE_ACCESS_ALL, "p")) == 0);
	CHECK(watch_set_find(s, 1, &old_file) == a);
	/* The path now names another inode: the old one is gone, ids are not reused. */
	CHECK(watch_set_put(s, entry("k", 20, HIVE_ACCESS_ALL, "p")) == 0);
	CHECK(watch_set_n_entries(s) == 1);
	CHECK(watch_set_n_inodes(s) == 1);
	CHECK(watch_set_find(s, 1, &old_file) == NULL);
	b = watch_set_find(s, 2, &new_file);
	CHECK(b != NULL && b->n_entries == 1);
	CHECK(watch_set_get(s, "k")->file.ino == 20);
	watch_set_free(s);
}

static void test_pod_metadata(void)
{
	struct watch_entry *a = entry("k", 1, HIVE_MAY_READ, "p"), *b = entry("k", 1, HIVE_MAY_READ, "p");

	CHECK(watch_entry_equal(a, b));
	CHECK(watch_entry_set_place(b, &(struct watch_place){ "security", "web-0", "uid-1", "app", "containerd://abc" }) == 0);
	CHECK(!watch_entry_equal(a, b));
	watch_entry_free(a);
	watch_entry_free(b);
}

int main(void)
{
	RUN(test_entries_group_by_inode);
	RUN(test_replace_moves_entry_to_new_inode);
	RUN(test_pod_metadata);
	return TAP_END();
}
