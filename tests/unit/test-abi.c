/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sys/sysmacros.h>

#include "hive.h"
#include "shared/abi.h"
#include "shared/macro.h"
#include "tap.h"

static void test_access_names(void)
{
	char buf[96];

	CHECK_STREQ(access_to_string(HIVE_MAY_READ | HIVE_MAY_OPEN, buf, sizeof(buf)), "read");
	CHECK_STREQ(access_to_string(HIVE_MAY_WRITE | HIVE_MAY_APPEND, buf, sizeof(buf)), "write,append");
	CHECK_STREQ(access_to_string(HIVE_MAY_EXEC, buf, sizeof(buf)), "exec");
	CHECK_STREQ(access_to_string(HIVE_MAY_OPEN, buf, sizeof(buf)), "");
	CHECK_STREQ(access_to_string(HIVE_ACCESS_ALL, buf, 8), "read,wr"); /* cut, never overrun */
	CHECK_STREQ(access_to_string(HIVE_ACCESS_ALL, buf, sizeof(buf)),
		    "read,write,exec,append,attrib,truncate,create,delete,rename,link");
	CHECK_STREQ(access_to_string(HIVE_ACCESS_CHANGES, buf, sizeof(buf)), "attrib,truncate,create,delete,rename,link");
	CHECK_STREQ(access_names(), "read, write, exec, append, attrib, truncate, create, delete, rename or link");
	for (size_t i = 0; i < ACCESS_N; i++)
		CHECK(access_from_name(access_name(access_bit(i))) == access_bit(i));
	CHECK(access_from_name("open") == 0);
	CHECK(access_from_name("READ") == 0);
	CHECK(access_name(HIVE_MAY_OPEN) == NULL);
}

static void test_kernel_dev(void)
{
	static const char *const bad[] = { "", ":", "8", "8:", ":1", "8:1:2", "-8:1", "8:-1", " 8:1", "8:1 ",
					   "4096:0", "0:1048576", "12345678:1", "8:0x1", "8:1\n" };
	char text[KERNEL_DEV_STRLEN];
	uint32_t dev = 0;

	CHECK(kernel_dev_from_string("259:3", &dev) == 0 && dev == ((259u << 20) | 3));
	CHECK_STREQ(kernel_dev_to_string(dev, text), "259:3");
	CHECK(kernel_dev_from_string("4095:1048575", &dev) == 0);
	CHECK_STREQ(kernel_dev_to_string(dev, text), "4095:1048575");
	CHECK(kernel_dev_from_user(makedev(8, 1)) == ((8u << 20) | 1));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (kernel_dev_from_string(bad[i], &dev) != -EINVAL) {
			printf("# \"%s\" was accepted\n", bad[i]);
			tap_failed = true;
		}
}

int main(void)
{
	RUN(test_access_names);
	RUN(test_kernel_dev);
	return TAP_END();
}
