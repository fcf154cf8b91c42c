/* SPDX-License-Identifier: MIT */
/* What an open asks for, from its flags: what a deny of reads, writes or
 * appends refuses. */
#include <fcntl.h>

#include "enforce/enforce.h"
#include "tap.h"

static void test_open_flags(void)
{
	CHECK(enforce_open_access(O_RDONLY) == HIVE_MAY_READ);
	CHECK(enforce_open_access(O_RDONLY | O_CLOEXEC | O_NOFOLLOW) == HIVE_MAY_READ);
	CHECK(enforce_open_access(O_WRONLY) == HIVE_MAY_WRITE);
	CHECK(enforce_open_access(O_RDWR) == (HIVE_MAY_READ | HIVE_MAY_WRITE));
	CHECK(enforce_open_access(O_WRONLY | O_APPEND) == (HIVE_MAY_WRITE | HIVE_MAY_APPEND));
	/* O_APPEND on a read-only open writes nothing, but asks to append. */
	CHECK(enforce_open_access(O_RDONLY | O_APPEND) == (HIVE_MAY_READ | HIVE_MAY_WRITE | HIVE_MAY_APPEND));
	/* O_TRUNC empties the file: a write, whatever the mode. */
	CHECK(enforce_open_access(O_RDONLY | O_TRUNC) == (HIVE_MAY_READ | HIVE_MAY_WRITE));
	/* The undefined access mode 3 is taken for both. */
	CHECK(enforce_open_access(3) == (HIVE_MAY_READ | HIVE_MAY_WRITE));
}

int main(void)
{
	RUN(test_open_flags);
	return TAP_END();
}
