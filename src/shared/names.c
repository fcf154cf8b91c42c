/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "shared/names.h"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool label_n(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool dns_label_is_valid(const char *s)
{
	return label_n(s, strlen(s));
}

static bool subdomain_n(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++)
		if (i == n || s[i] == '.') {
			if (!label_n(s + start, i - start))
				return false;
			start = i + 1;
		}
	return true;
}

bool dns_subdomain_is_valid(const char *s)
{
	return subdomain_n(s, strlen(s));
}

static bool qualified_name_n(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

bool label_key_is_valid(const char *s)
{
	const char *slash = strchr(s, '/');

	if (!slash)
		return qualified_name_n(s, strlen(s));
	return subdomain_n(s, slash - s) && qualified_name_n(slash + 1, strlen(slash + 1));
}

bool label_value_is_valid(const char *s)
{
	size_t n = strlen(s);

	return n == 0 || qualified_name_n(s, n);
}

bool kind_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]))
			return false;
	return true;
}
