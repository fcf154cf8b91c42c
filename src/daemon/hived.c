/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cluster/cluster.h"
#include "daemon/config.h"
#include "daemon/log-journal.h"
#include "daemon/manager.h"
#include "daemon/sandbox.h"
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

struct arguments {
	const char *config_path; /* NULL: the default, which may be missing */
	bool check;
	struct flag_value flags[32];
	size_t n_flags;
};

/* 1 to go on, 0 when done (--help, --version), -EINVAL for bad usage. */
static int parse_argv(int argc, char *argv[], struct arguments *a)
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
	int c;

	while ((c = getopt_long(argc, argv, "c:p:o:a:h", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			a->config_path = optarg;
			break;
		case ARG_CHECK:
			a->check = true;
			break;
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("hived %s\n", HIVE_VERSION);
			return 0;
		case '?':
			return -EINVAL;
		default:
			for (size_t i = 0; i < ARRAY_SIZE(flag_keys); i++)
				if (flag_keys[i].id == c && a->n_flags < ARRAY_SIZE(a->flags))
					a->flags[a->n_flags++] = (struct flag_value){ &flag_keys[i], optarg };
			break;
		}
	}
	if (optind < argc) {
		log_error("Unexpected argument \"%s\"; see hived --help.", argv[optind]);
		return -EINVAL;
	}
	return 1;
}

/* The flags over the file's keys; problems into d. */
static int apply_flags(struct config *config, const struct arguments *a, struct diag *d)
{
	int r = 0;

	for (size_t i = 0; i < a->n_flags; i++) {
		_cleanup_(freep) char *absolute = NULL;
		const char *key = a->flags[i].flag->key, *value = a->flags[i].value;
		char where[64];

		/* Paths on the command line may be relative to where we run. */
		if (strstr(key, "dir") || (strcmp(key, "kubeconfig") == 0 && strcmp(value, "in-cluster") != 0)) {
			absolute = make_absolute(value);
			if (!absolute)
				return -ENOMEM;
			value = absolute;
		}
		snprintf(where, sizeof(where), "--%s", key);
		for (char *p = where; *p; p++)
			if (*p == '_')
				*p = '-';
		if (config_set(config, a->flags[i].flag->section, key, value, where, d) < 0)
			r = -EINVAL;
	}
	return r;
}

/* hive.conf, then the flags over it, checked as a whole; the problems are
 * logged. */
static int load_config(const struct arguments *a, struct config **ret)
{
	struct config *config = NULL;
	struct diag d = {};
	int r, k;

	r = config_new(&config);
	if (r < 0)
		return log_error_errno(r, "Out of memory.");
	r = config_load_file(config, a->config_path ? a->config_path : CONFIG_DEFAULT_PATH, &d);
	if (r == -ENOENT && a->config_path) {
		diag_add(&d, "%s: no such file", a->config_path);
		r = -EINVAL;
	}
	if (r == -ENOENT) /* the default file is optional */
		r = 0;
	k = apply_flags(config, a, &d);
	if (k < 0)
		r = k;
	if (config_validate(config, &d) < 0)
		r = -EINVAL;
	if (r >= 0 && (k = cluster_check_credentials(config->kubeconfig, &d)) < 0)
		r = k == -ENOMEM ? k : -EINVAL;
	if (r < 0) {
		diag_log(&d);
		log_error("Invalid configuration, %s.", a->check ? "check failed" : "not starting");
		config_free(config);
		return r;
	}
	*ret = config;
	return 0;
}

static int run(const struct arguments *a)
{
	struct config *config = NULL;
	struct policy_set *policies = NULL;
	struct manager *m = NULL;
	struct diag d = {};
	sigset_t mask;
	int r;

	r = load_config(a, &config);
	if (r < 0)
		return r;
	log_set_max_level(config->log_level);

	r = sandbox_load_policies(config->policy_dir, &policies, &d);
	diag_log(&d);
	if (r < 0) {
		if (r != -EINVAL)
			log_error_errno(r, "Cannot read policy directory %s: %m", config->policy_dir);
		log_error("Invalid policies in %s, %s.", config->policy_dir, a->check ? "check failed" : "not starting");
		config_free(config);
		return r;
	}
	if (a->check) {
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
	/* Taken when asked for (cluster/presence.c); blocked before any thread
	 * is made, so that none of them takes it. */
	sigaddset(&mask, HIVE_PRESENCE_SIGNAL);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = manager_new(config, policies, &m);
	if (r < 0)
		return log_error_errno(r, "Cannot set up: %m");
	r = manager_start(m);
	if (r >= 0)
		r = manager_run(m);
	manager_free(m);
	return r;
}

int main(int argc, char *argv[])
{
	struct arguments a = {};
	int r;

	log_setup();
	log_journal_setup();
	r = parse_argv(argc, argv, &a);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	return run(&a) < 0 ? 1 : 0;
}
