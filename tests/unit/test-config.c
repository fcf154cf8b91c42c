/* SPDX-License-Identifier: MIT */
#include "daemon/config.h"
#include "tap.h"

static int parse(const char *text, struct config **ret, struct diag *d)
{
	int r;

	CHECK(config_new(ret) == 0);
	r = config_parse(*ret, "hive.conf", text, d);
	if (config_validate(*ret, d) < 0)
		r = -EINVAL;
	return r;
}

static void test_defaults(void)
{
	struct config *c;
	struct diag d = {};

	CHECK(parse("", &c, &d) == 0);
	CHECK(c->output == OUTPUT_JOURNAL);
	CHECK(c->attach == ATTACH_AUTO);
	CHECK(c->dedup_window_ms == 1000);
	CHECK(c->kubeconfig == NULL);
	CHECK(c->lease_duration_s == 15 && c->renew_deadline_s == 10 && c->retry_period_s == 2);
	config_free(c);
}

static void test_full_file(void)
{
	struct config *c;
	struct diag d = {};

	CHECK(parse("# comment\n; other comment\n\n[agent]\n  policy_dir = /srv/p \noutput=json\nattach = tracepoint\n"
		    "dedup_window_ms = 0\nringbuf_kib = 64\nancestors = 0\nnode_name = node-1\n"
		    "[kubernetes]\nkubeconfig = /etc/hive/kubeconfig\nlease_duration_s = 30\n"
		    "record_labels = app , app.kubernetes.io/name\n[metrics]\nlisten = 127.0.0.1:9464\n",
		    &c, &d) == 0);
	CHECK(d.n == 0);
	CHECK_STREQ(c->policy_dir, "/srv/p");
	CHECK(c->output == OUTPUT_JSON);
	CHECK(c->attach == ATTACH_TRACEPOINT);
	CHECK(c->dedup_window_ms == 0);
	CHECK(c->ringbuf_kib == 64);
	CHECK(c->ancestors == 0);
	CHECK_STREQ(c->node_name, "node-1");
	CHECK_STREQ(c->kubeconfig, "/etc/hive/kubeconfig");
	CHECK(c->lease_duration_s == 30);
	CHECK(c->record_labels && c->record_labels[2] == NULL);
	CHECK_STREQ(c->record_labels ? c->record_labels[1] : "", "app.kubernetes.io/name");
	CHECK_STREQ(c->metrics_listen, "127.0.0.1:9464");
	config_free(c);
}

static const struct {
	const char *text, *expect;
} bad[] = {
	{ "colour = red\n", "hive.conf:1: unknown key \"colour\" in section [agent]" },
	{ "[agent]\n[nodes]\n", "hive.conf:2: unknown section [nodes]" },
	{ "just words\n", "hive.conf:1: expected \"key = value\"" },
	{ "policy_dir = relative\n", "policy_dir: \"relative\" is not an absolute path" },
	{ "output = syslog\n", "output: \"syslog\" is not one of journal, json" },
	{ "attach = lsm\n", "attach: \"lsm\" is not one of auto, fentry, kprobe, tracepoint" },
	{ "attach = none\n", "attach: \"none\" is not one of" },
	{ "dedup_window_ms = -1\n", "dedup_window_ms: \"-1\" is not a number from 0 to 3600000" },
	{ "dedup_window_ms = 10s\n", "dedup_window_ms: \"10s\" is not a number" },
	{ "ringbuf_kib = 100\n", "ringbuf_kib: 100 is not a power of two" },
	{ "ringbuf_kib = 2\n", "ringbuf_kib: \"2\" is not a number from 4" },
	{ "ancestors = 9\n", "ancestors: \"9\" is not a number from 0 to 8" },
	{ "node_name = Node_1\n", "node_name: \"Node_1\" is not a valid node name" },
	{ "log_level = loud\n", "log_level: \"loud\" is not a log level" },
	{ "[kubernetes]\nnamespace = Hive\n", "namespace: \"Hive\" is not a valid namespace name" },
	{ "[kubernetes]\nlease_duration_s = 10\n", "lease_duration_s (10) must be greater than renew_deadline_s (10)" },
	{ "[kubernetes]\nretry_period_s = 9\n", "renew_deadline_s (10) must be greater than 1.2 x retry_period_s (9)" },
	{ "[kubernetes]\nkubeconfig = k.yaml\n", "kubeconfig: \"k.yaml\" is not an absolute path" },
	{ "[kubernetes]\nrecord_labels = app, -bad\n", "record_labels: \"-bad\" is not a label key" },
	{ "[kubernetes]\nrecord_labels = a.b, a_b\n", "record_labels: \"a_b\" makes the same journal field name" },
	{ "[metrics]\nlisten = localhost:9464\n", "listen: \"localhost:9464\" is not ADDRESS:PORT" },
	{ "[metrics]\nport = 9464\n", "unknown key \"port\" in section [metrics]" },
	/* 16 + 49 = 65 characters: the journal would drop the field. */
	{ "[kubernetes]\nrecord_labels = example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "makes a journal field name longer than 64 characters" },
};

static void test_bad_values_are_named(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct config *c;
		struct diag d = {};

		CHECK(parse(bad[i].text, &c, &d) == -EINVAL);
		if (d.n != 1 || !strstr(d.lines[0], bad[i].expect)) {
			printf("# case %zu: got %zu messages, first \"%s\", expected \"%s\"\n", i, d.n,
			       d.n ? d.lines[0] : "", bad[i].expect);
			tap_failed = true;
		}
		diag_clear(&d);
		config_free(c);
	}
}

static void test_empty_optional_values_reset(void)
{
	struct config *c;
	struct diag d = {};

	CHECK(parse("[kubernetes]\nkubeconfig = /k\nkubeconfig =\n[agent]\nnode_name = n\nnode_name =\n", &c, &d) == 0);
	CHECK(c->kubeconfig == NULL);
	CHECK(c->node_name == NULL);
	config_free(c);
}

int main(void)
{
	RUN(test_defaults);
	RUN(test_full_file);
	RUN(test_bad_values_are_named);
	RUN(test_empty_optional_values_reset);
	return TAP_END();
}
