/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cluster/cluster.h"
#include "daemon/config.h"
#include "daemon/manager.h"
#include "watch/policy.h"
#include "shared/log.h"

static void help(void)
{
	printf("Usage: hived [OPTIONS]\n"
	       "Log every access to chosen files, whoever makes it, host or container.\n\n"
	       "  -c --config PATH       configuration file (default " CONFIG_DEFAULT_PATH ")\n"
	       "  -p --policy-dir DIR    policy directory (default " CONFIG_DEFAULT_POLICY_DIR ")\n"
	       "  -o --output KIND       journal (default) or json (one object per line on stdout)\n"
	       "  -a --attach MODE       auto (default), fentry, kprobe or tracepoint\n"
	       "     --dedup-window MS   fold repeated accesses within MS milliseconds (0: off)\n"
	       "     --node-name NAME    node name in records (default: the host name)\n"
	       "     --kubeconfig PATH   join a Kubernetes cluster (default: standalone)\n"
	       "     --log-level LEVEL   err, warning, notice, info (default) or debug\n"
	       "     --check            validate configuration and policies, then exit\n"
	       "  -h --help              show this help\n"
	       "     --version          show the version\n\n"
	       "See hived(8), hive.conf(5) and hive-policy(5).\n");
}

enum {
	ARG_DEDUP = 0x100,
	ARG_NODE_NAME,
	ARG_KUBECONFIG,
	ARG_LOG_LEVEL,
	ARG_CHECK,
	ARG_VERSION,
};

/* A flag is the same as a key in hive.conf; this maps one to the other. */
struct flag_key {
	int id;
	const char *section, *key;
};

static const struct flag_key flag_keys[] = {
	{ 'p', "agent", "policy_dir" },
	{ 'o', "agent", "output" },
	{ 'a', "agent", "attach" },
	{ ARG_DEDUP, "agent", "dedup_window_ms" },
	{ ARG_NODE_NAME, "agent", "node_name" },
	{ ARG_LOG_LEVEL, "agent", "log_level" },
	{ ARG_KUBECONFIG, "kubernetes", "kubeconfig" },
};

struct flag_value {
	const struct flag_key *flag;
	const char *value;
};

static char *make_absolute(const char *path)
{
	_cleanup_(freep) char *cwd = NULL;
	char *result;

	if (path[0] == '/' || path[0] == '\0')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (!cwd || asprintf(&result, "%s/%s", cwd, path) < 0)
		return NULL;
	return result;
}

static void print_diag(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		log_error("%s", d->lines[i]);
	if (d->omitted)
		log_error("... and %zu more problems.", d->omitted);
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "policy-dir", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "attach", required_argument, NULL, 'a' },
		{ "dedup-window", required_argument, NULL, ARG_DEDUP },
		{ "node-name", required_argument, NULL, ARG_NODE_NAME },
		{ "kubeconfig", required_argument, NULL, ARG_KUBECONFIG },
		{ "log-level", required_argument, NULL, ARG_LOG_LEVEL },
		{ "check", no_argument, NULL, ARG_CHECK },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{},
	};
	struct flag_value flags[32];
	size_t n_flags = 0;
	const char *config_path = NULL;
	struct config *config = NULL;
	struct policy_set *policies = NULL;
	struct manager *m = NULL;
	struct diag d = {};
	bool check = false;
	sigset_t mask;
	int c, r;

	log_setup();

	while ((c = getopt_long(argc, argv, "c:p:o:a:h", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case ARG_CHECK:
			check = true;
			break;
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("hived %s\n", HIVE_VERSION);
			return 0;
		case '?':
			return 2;
		default:
			for (size_t i = 0; i < ARRAY_SIZE(flag_keys); i++)
				if (flag_keys[i].id == c && n_flags < ARRAY_SIZE(flags))
					flags[n_flags++] = (struct flag_value){ &flag_keys[i], optarg };
			break;
		}
	}
	if (optind < argc) {
		log_error("Unexpected argument \"%s\"; see hived --help.", argv[optind]);
		return 2;
	}

	r = config_new(&config);
	if (r < 0)
		return log_error_errno(r, "Out of memory."), 1;
	r = config_load_file(config, config_path ? config_path : CONFIG_DEFAULT_PATH, &d);
	if (r == -ENOENT && config_path) {
		diag_add(&d, "%s: no such file", config_path);
		r = -EINVAL;
	}
	for (size_t i = 0; i < n_flags; i++) {
		_cleanup_(freep) char *absolute = NULL;
		const char *value = flags[i].value;
		char where[64];

		/* Paths on the command line may be relative to where we run. */
		if (strstr(flags[i].flag->key, "dir") ||
		    (strcmp(flags[i].flag->key, "kubeconfig") == 0 && strcmp(value, "in-cluster") != 0)) {
			absolute = make_absolute(value);
			if (!absolute)
				return log_error_errno(-ENOMEM, "Out of memory."), 1;
			value = absolute;
		}

		snprintf(where, sizeof(where), "--%s", flags[i].flag->key);
		for (char *p = where; *p; p++)
			if (*p == '_')
				*p = '-';
		if (config_set(config, flags[i].flag->section, flags[i].flag->key, value, where, &d) < 0)
			r = -EINVAL;
	}
	if (config_validate(config, &d) < 0)
		r = -EINVAL;
	if (r >= 0 || r == -ENOENT) {
		int k = cluster_check_credentials(config->kubeconfig, &d);

		if (k < 0)
			r = k == -ENOMEM ? k : -EINVAL;
	}
	if (r < 0 && r != -ENOENT) {
		print_diag(&d);
		log_error("Invalid configuration, %s.", check ? "check failed" : "not starting");
		diag_clear(&d);
		config_free(config);
		return 1;
	}
	log_set_max_level(config->log_level);

	r = policy_set_load_dir(config->policy_dir, &policies, &d);
	print_diag(&d);
	diag_clear(&d);
	if (r < 0) {
		if (r != -EINVAL)
			log_error_errno(r, "Cannot read policy directory %s: %m", config->policy_dir);
		log_error("Invalid policies in %s, %s.", config->policy_dir, check ? "check failed" : "not starting");
		config_free(config);
		return 1;
	}
	if (check) {
		printf("%s: %zu policies OK.\n", config->policy_dir, policies->n);
		policy_set_free(policies);
		config_free(config);
		return 0;
	}

	/* sd-event takes these signals over through a signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = manager_new(config, policies, &m);
	if (r < 0)
		return log_error_errno(r, "Cannot set up: %m"), 1;
	r = manager_start(m);
	if (r >= 0)
		r = manager_run(m);
	manager_free(m);
	return r < 0 ? 1 : 0;
}
