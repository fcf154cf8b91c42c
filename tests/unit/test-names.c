/* SPDX-License-Identifier: MIT */
#include "shared/names.h"
#include "tap.h"

static void test_dns_label(void)
{
	CHECK(dns_label_is_valid("security"));
	CHECK(dns_label_is_valid("a-1"));
	CHECK(!dns_label_is_valid(""));
	CHECK(!dns_label_is_valid("-a"));
	CHECK(!dns_label_is_valid("a-"));
	CHECK(!dns_label_is_valid("A"));
	CHECK(!dns_label_is_valid("a.b"));
	CHECK(dns_label_is_valid("a123456789012345678901234567890123456789012345678901234567890bc"));
	CHECK(!dns_label_is_valid("a123456789012345678901234567890123456789012345678901234567890bcd"));
}

static void test_dns_subdomain(void)
{
	CHECK(dns_subdomain_is_valid("node-1.example.com"));
	CHECK(!dns_subdomain_is_valid("node..x"));
	CHECK(!dns_subdomain_is_valid(".x"));
	CHECK(!dns_subdomain_is_valid("x."));
	CHECK(!dns_subdomain_is_valid("Node"));
}

static void test_labels(void)
{
	CHECK(label_key_is_valid("app"));
	CHECK(label_key_is_valid("app.kubernetes.io/name"));
	CHECK(label_key_is_valid("My_Key.x"));
	CHECK(!label_key_is_valid("/name"));
	CHECK(!label_key_is_valid("prefix/"));
	CHECK(!label_key_is_valid("a/b/c"));
	CHECK(!label_key_is_valid("_x"));
	CHECK(label_value_is_valid(""));
	CHECK(label_value_is_valid("v1.2_beta-3"));
	CHECK(!label_value_is_valid("v1 "));
	CHECK(!label_value_is_valid("-v"));
}

int main(void)
{
	RUN(test_dns_label);
	RUN(test_dns_subdomain);
	RUN(test_labels);
	return TAP_END();
}
