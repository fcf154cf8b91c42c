/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "shared/fileio.h"
#include "shared/strv.h"
#include "watch/policy.h"

/* The policy directory: every *.json file, read in name order. */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_policy_file(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* The names of dir's policy files, sorted. -EINVAL with the problem in d
 * when there are too many. */
static int list_policy_files(const char *dir, char ***ret, size_t *ret_n, struct diag *d)
{
	_cleanup_(closedirp) DIR *dp = opendir(dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	int r = 0;

	if (!dp)
		return negative_errno();
	while ((errno = 0, de = readdir(dp))) {
		char **grown;

		if (!is_policy_file(de->d_name))
			continue;
		if (n >= POLICY_MAX_FILES) {
			diag_add(d, "%s: more than %d policy files", dir, POLICY_MAX_FILES);
			r = -EINVAL;
			break;
		}
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		names = grown;
		if (!(names[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	if (r >= 0 && errno)
		r = negative_errno();
	if (r < 0) {
		strv_free(names, n);
		return r;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	*ret = names;
	*ret_n = n;
	return 0;
}

/* One file's policies into set; -EINVAL with the problems in d. */
static int load_file(const char *path, struct policy_set *set, struct diag *d)
{
	_cleanup_(freep) char *text = NULL;
	size_t len;
	int r;

	r = read_small_file(path, POLICY_MAX_FILE_SIZE, &text, &len);
	if (r == -EFBIG)
		diag_add(d, "%s: larger than %d bytes", path, POLICY_MAX_FILE_SIZE);
	else if (r == -EISDIR || r == -ENODEV)
		diag_add(d, "%s: not a regular file", path);
	else if (r < 0)
		diag_add(d, "%s: cannot read: %s", path, strerror(-r));
	if (r < 0)
		return -EINVAL;
	return policy_parse(path, text, len, set, d);
}

int policy_set_load_dir(const char *dir, struct policy_set **ret, struct diag *d)
{
	struct policy_set *set = NULL;
	char **names = NULL;
	size_t n = 0;
	int r;

	r = list_policy_files(dir, &names, &n, d);
	if (r < 0)
		return r;
	set = policy_set_new();
	if (!set)
		r = -ENOMEM;
	/* Every file, even after a bad one: all problems are said at once. */
	for (size_t i = 0; i < n && r != -ENOMEM; i++) {
		_cleanup_(freep) char *path = NULL;
		int k;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
			k = -ENOMEM;
		else
			k = load_file(path, set, d);
		if (k < 0)
			r = k == -ENOMEM ? k : -EINVAL;
	}
	if (r != -ENOMEM && policy_set_validate(set, d) < 0)
		r = -EINVAL;
	strv_free(names, n);
	if (r < 0) {
		policy_set_free(set);
		return r;
	}
	*ret = set;
	return 0;
}
