/* SPDX-License-Identifier: MIT */
#include "shared/escape.h"
#include "tap.h"

static const char *esc(const char *in, size_t len)
{
	static char out[256];

	escape_untrusted(in, len, out, sizeof(out));
	return out;
}

static void test_printable_and_utf8_pass(void)
{
	CHECK_STREQ(esc("cat", 3), "cat");
	CHECK_STREQ(esc("/etc/shadow", 11), "/etc/shadow");
	CHECK_STREQ(esc("caf\xc3\xa9", 5), "caf\xc3\xa9");
	CHECK_STREQ(esc("\xf0\x9f\x90\x9d", 4), "\xf0\x9f\x90\x9d");
}

static void test_controls_and_backslash_are_escaped(void)
{
	CHECK_STREQ(esc("a\nb", 3), "a\\x0ab");
	CHECK_STREQ(esc("\x1b[31m", 5), "\\x1b[31m");
	CHECK_STREQ(esc("a\\x0ab", 6), "a\\\\x0ab"); /* cannot be confused with an escape */
	CHECK_STREQ(esc("a\0b", 3), "a\\x00b");
	CHECK_STREQ(esc("\x7f", 1), "\\x7f");
}

static void test_invalid_utf8_is_escaped(void)
{
	CHECK_STREQ(esc("\xff", 1), "\\xff");
	CHECK_STREQ(esc("\xc0\xaf", 2), "\\xc0\\xaf");          /* overlong "/" */
	CHECK_STREQ(esc("\xed\xa0\x80", 3), "\\xed\\xa0\\x80"); /* surrogate */
	CHECK_STREQ(esc("\xe2\x82", 2), "\\xe2\\x82");          /* truncated */
}

static void test_display_tricks_are_escaped(void)
{
	CHECK_STREQ(esc("\xe2\x80\xae", 3), "\\xe2\\x80\\xae"); /* right-to-left override */
	CHECK_STREQ(esc("\xc2\x85", 2), "\\xc2\\x85");          /* C1 next line */
	CHECK_STREQ(esc("\xe2\x80\x8b", 3), "\\xe2\\x80\\x8b"); /* zero-width space */
}

static void test_truncation_reports_full_length(void)
{
	char out[4];

	CHECK(escape_untrusted("abcdef", 6, out, sizeof(out)) == 6);
	CHECK_STREQ(out, "abc");
	CHECK(escape_untrusted("\n", 1, out, sizeof(out)) == 4);
	CHECK(strlen(out) == 3);
}

int main(void)
{
	RUN(test_printable_and_utf8_pass);
	RUN(test_controls_and_backslash_are_escaped);
	RUN(test_invalid_utf8_is_escaped);
	RUN(test_display_tricks_are_escaped);
	RUN(test_truncation_reports_full_length);
	return TAP_END();
}
