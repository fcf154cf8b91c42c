/* SPDX-License-Identifier: MIT */
/* auditd's rule lines as file watches: what hivectl from-auditd reads. */
#include <errno.h>
#include <string.h>

#include "hive.h"
#include "hivectl/auditd.h"
#include "tap.h"

#define WA                                                                                                     \
	(HIVE_MAY_WRITE | HIVE_MAY_APPEND | HIVE_ACCESS_TRUNCATE | HIVE_ACCESS_CREATE | HIVE_ACCESS_DELETE |      \
	 HIVE_ACCESS_RENAME | HIVE_ACCESS_LINK | HIVE_ACCESS_ATTRIB)

static void test_perms(void)
{
	CHECK(auditd_perms_to_access("r") == HIVE_MAY_READ);
	CHECK(auditd_perms_to_access("x") == HIVE_MAY_EXEC);
	CHECK(auditd_perms_to_access("a") == HIVE_ACCESS_ATTRIB);
	CHECK(auditd_perms_to_access("wa") == WA);
	CHECK(auditd_perms_to_access("rwxa") == HIVE_ACCESS_ALL);
	CHECK(auditd_perms_to_access("rq") == 0);
}

static void test_key_names(void)
{
	char name[64];

	auditd_key_to_name("10.2.2-priv-config-changes", name);
	CHECK_STREQ(name, "10-2-2-priv-config-changes");
	auditd_key_to_name("MAC-policy", name);
	CHECK_STREQ(name, "mac-policy");
	auditd_key_to_name("__x__", name);
	CHECK_STREQ(name, "x");
	auditd_key_to_name("", name);
	CHECK_STREQ(name, "auditd");
	auditd_key_to_name("!!!", name);
	CHECK_STREQ(name, "auditd");
	auditd_key_to_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", name);
	CHECK(strlen(name) == 63);
}

static void test_lines(void)
{
	struct auditd_watch w;
	const char *why;

	CHECK(auditd_parse_line("-w /etc/shadow -p wa -k identity\n", &w, &why) == 1);
	CHECK_STREQ(w.path, "/etc/shadow");
	CHECK(!w.tree && w.access == WA);
	CHECK_STREQ(w.key, "identity");
	CHECK(auditd_parse_line("-w /nonexistent/dir/ -k k", &w, &why) == 1);
	CHECK(w.tree && w.access == HIVE_ACCESS_ALL);
	CHECK_STREQ(w.path, "/nonexistent/dir");
	CHECK(auditd_parse_line("-a always,exit -F dir=/var/log/audit/ -F perm=r -F auid>=1000 -F auid!=unset "
				"-F key=trail",
				&w, &why) == 1);
	CHECK(w.tree && w.access == HIVE_MAY_READ);
	CHECK_STREQ(w.dropped, "-F auid>=1000 -F auid!=unset");
	CHECK(auditd_parse_line("-a exit,always -F path=/usr/sbin/ausearch -F perm=x -S execve -k t", &w, &why) == 1);
	CHECK(!w.tree && w.access == HIVE_MAY_EXEC);
	CHECK_STREQ(w.dropped, "-S execve");
	CHECK_STREQ(w.key, "t");

	/* Not file watches: said why, nothing made. */
	CHECK(auditd_parse_line("# a comment", &w, &why) == 0 && !why);
	CHECK(auditd_parse_line("   ", &w, &why) == 0 && !why);
	CHECK(auditd_parse_line("-D", &w, &why) == 0);
	CHECK_STREQ(why, "a control line");
	CHECK(auditd_parse_line("-a always,exit -F arch=b64 -S chmod -k perm_mod", &w, &why) == 0);
	CHECK_STREQ(why, "a syscall rule on no path");
	CHECK(auditd_parse_line("-a never,exit -F path=/x", &w, &why) == 0);

	/* Malformed: refused with the reason. */
	CHECK(auditd_parse_line("-w /x -p", &w, &why) == -EINVAL);
	CHECK(auditd_parse_line("-w x -p r", &w, &why) == -EINVAL);
	CHECK_STREQ(why, "the path is not absolute");
	CHECK(auditd_parse_line("-w /x -p rz", &w, &why) == -EINVAL);
	CHECK(auditd_parse_line("-w /x -S open", &w, &why) == -EINVAL);
}

static void test_hostile_lines(void)
{
	static char huge[10000];
	struct auditd_watch w;
	const char *why;
	char many[1024] = "-w /x";

	memset(huge, 'a', sizeof(huge) - 1);
	CHECK(auditd_parse_line(huge, &w, &why) == -EINVAL);
	for (int i = 0; i < 40; i++)
		strcat(many, " -k k");
	CHECK(auditd_parse_line(many, &w, &why) == -EINVAL);
	CHECK_STREQ(why, "more than 64 words");
}

int main(void)
{
	RUN(test_perms);
	RUN(test_key_names);
	RUN(test_lines);
	RUN(test_hostile_lines);
	return TAP_END();
}
