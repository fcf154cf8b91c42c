/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "shared/abi.h"
#include "hive.h"

static const struct {
	const char *name;
	uint32_t bit;
} accesses[ACCESS_N] = {
	{ "read", HIVE_MAY_READ },
	{ "write", HIVE_MAY_WRITE },
	{ "exec", HIVE_MAY_EXEC },
	{ "append", HIVE_MAY_APPEND },
	{ "attrib", HIVE_ACCESS_ATTRIB },
	{ "truncate", HIVE_ACCESS_TRUNCATE },
	{ "create", HIVE_ACCESS_CREATE },
	{ "delete", HIVE_ACCESS_DELETE },
	{ "rename", HIVE_ACCESS_RENAME },
	{ "link", HIVE_ACCESS_LINK },
};

uint32_t access_bit(size_t i)
{
	return i < ACCESS_N ? accesses[i].bit : 0;
}

const char *access_name(uint32_t bit)
{
	for (size_t i = 0; i < ACCESS_N; i++)
		if (accesses[i].bit == bit)
			return accesses[i].name;
	return NULL;
}

uint32_t access_from_name(const char *name)
{
	for (size_t i = 0; i < ACCESS_N; i++)
		if (strcmp(name, accesses[i].name) == 0)
			return accesses[i].bit;
	return 0;
}

const char *access_to_string(uint32_t access, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ACCESS_N; i++)
		if (access & accesses[i].bit && used < size)
			used += snprintf(buf + used, size - used, "%s%s", used ? "," : "", accesses[i].name);
	return buf;
}

const char *access_names(void)
{
	static char all[ACCESS_N * 12];

	if (!all[0])
		for (size_t i = 0, used = 0; i < ACCESS_N; i++)
			used += snprintf(all + used, sizeof(all) - used, "%s%s", i == 0 ? "" : i + 1 < ACCESS_N ? ", " : " or ",
					 accesses[i].name);
	return all;
}

uint32_t kernel_dev_from_user(dev_t st_dev)
{
	return (major(st_dev) << 20) | minor(st_dev);
}

const char *kernel_dev_to_string(uint32_t dev, char out[static KERNEL_DEV_STRLEN])
{
	snprintf(out, KERNEL_DEV_STRLEN, "%u:%u", kernel_dev_major(dev), kernel_dev_minor(dev));
	return out;
}

static int parse_decimal(const char *s, size_t len, unsigned limit, unsigned *ret)
{
	unsigned v = 0;

	if (len == 0 || len > 7)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v >= limit)
		return -EINVAL;
	*ret = v;
	return 0;
}

int kernel_dev_from_string(const char *s, uint32_t *ret)
{
	const char *colon = strchr(s, ':');
	unsigned major_, minor_;

	if (!colon || parse_decimal(s, colon - s, 1U << 12, &major_) < 0 ||
	    parse_decimal(colon + 1, strlen(colon + 1), 1U << 20, &minor_) < 0)
		return -EINVAL;
	*ret = (major_ << 20) | minor_;
	return 0;
}
