/* SPDX-License-Identifier: MIT */
/* The exposition format's escaping and the listen address's forms; the
 * page itself is checked by promtool against a running agent
 * (tests/integration/test_metrics.py). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/exposition.h"
#include "metrics/http.h"
#include "tap.h"

static void test_exposition(void)
{
	struct expo e = {};
	char *text;
	int error;

	expo_family(&e, "hive_x_total", "counter", "An example.");
	expo_u64(&e, "hive_x_total", (const char *const[]){ "policy", "a\"b\\c\nd", "access", "read", NULL },
		 18446744073709551615ULL);
	expo_u64(&e, "hive_y", NULL, 0);
	expo_double(&e, "hive_z", NULL, 1.5);
	/* Every digit of a start time kept; no tail of binary noise. */
	expo_double(&e, "hive_t", NULL, 1796521035.17);
	expo_double(&e, "hive_u", NULL, 0.1);
	text = expo_finish(&e, &error);
	CHECK(text && error == 0);
	CHECK_STREQ(text, "# HELP hive_x_total An example.\n# TYPE hive_x_total counter\n"
			  "hive_x_total{policy=\"a\\\"b\\\\c\\nd\",access=\"read\"} 18446744073709551615\n"
			  "hive_y 0\nhive_z 1.5\nhive_t 1796521035.17\nhive_u 0.1\n");
	free(text);
}

static void test_histogram(void)
{
	static const double bounds[] = { 0.1, 1 };
	struct histogram h;
	struct expo e = {};
	char *text;
	int error;

	histogram_init(&h, bounds, 2);
	histogram_observe(&h, 0.1); /* on a bound: in its bucket */
	histogram_observe(&h, 0.5);
	histogram_observe(&h, 0.75);
	histogram_observe(&h, 7);
	expo_histogram(&e, "hive_t_seconds", "Took.", &h);
	text = expo_finish(&e, &error);
	CHECK(text && error == 0);
	CHECK_STREQ(text, "# HELP hive_t_seconds Took.\n# TYPE hive_t_seconds histogram\n"
			  "hive_t_seconds_bucket{le=\"0.1\"} 1\nhive_t_seconds_bucket{le=\"1\"} 3\n"
			  "hive_t_seconds_bucket{le=\"+Inf\"} 4\nhive_t_seconds_sum 8.35\nhive_t_seconds_count 4\n");
	free(text);
	histogram_init(&h, histogram_seconds_bounds, histogram_seconds_n_bounds);
	CHECK(h.n_bounds == histogram_seconds_n_bounds && h.n_bounds <= HISTOGRAM_BUCKETS_MAX);
	for (size_t i = 1; i < h.n_bounds; i++)
		CHECK(h.bounds[i - 1] < h.bounds[i]);
}

static void test_listen(void)
{
	static const char *const bad[] = { "", "9464", ":9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
					   "127.0.0.1:65536", "127.0.0.1:9x", "localhost:9464", "::1:9464",
					   "[::1:9464", "[127.0.0.1]:9464", "127.0.0.1:-1" };
	struct sockaddr_storage a;
	socklen_t len;

	CHECK(metrics_parse_listen("127.0.0.1:9464", &a, &len) == 0 && a.ss_family == AF_INET &&
	      ntohs(((struct sockaddr_in *)&a)->sin_port) == 9464);
	CHECK(metrics_parse_listen("[::1]:80", &a, &len) == 0 && a.ss_family == AF_INET6 &&
	      len == sizeof(struct sockaddr_in6));
	CHECK(metrics_parse_listen("0.0.0.0:1", &a, &len) == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (metrics_parse_listen(bad[i], &a, &len) != -EINVAL) {
			printf("# accepted \"%s\"\n", bad[i]);
			tap_failed = true;
		}
}

int main(void)
{
	RUN(test_exposition);
	RUN(test_histogram);
	RUN(test_listen);
	return TAP_END();
}
