/* SPDX-License-Identifier: MIT */
#include "kube/lease.h"
#include "shared/macro.h"
#include "tap.h"

#define S USEC_PER_SEC

static const struct lease_timing timing = { 15 * S, 10 * S, 2 * S };

static struct lease_record held_by(const char *holder, const char *renew, const char *rv)
{
	struct lease_record r = { .exists = true, .duration_s = 15, .transitions = 3 };

	snprintf(r.holder, sizeof(r.holder), "%s", holder);
	snprintf(r.renew_time, sizeof(r.renew_time), "%s", renew);
	snprintf(r.acquire_time, sizeof(r.acquire_time), "2026-01-01T00:00:00.000000Z");
	snprintf(r.resource_version, sizeof(r.resource_version), "%s", rv);
	return r;
}

static void test_no_lease_creates(void)
{
	struct lease_elector e;
	struct lease_record none = { .exists = false }, want;

	lease_elector_init(&e, "node-a", &timing);
	CHECK(lease_observe(&e, &none, LEASE_HOLDER_TRUSTED, 100 * S) == LEASE_CREATE);
	lease_desired(&e, LEASE_CREATE, "T1", &want);
	CHECK_STREQ(want.holder, "node-a");
	CHECK(want.duration_s == 15 && want.transitions == 0);
	CHECK_STREQ(want.acquire_time, "T1");
	CHECK_STREQ(want.renew_time, "T1");
	CHECK(want.resource_version[0] == '\0');
}

static void test_live_holder_is_respected_until_expiry_by_local_clock(void)
{
	struct lease_elector e;
	struct lease_record r = held_by("node-b", "T0", "10"), want;

	lease_elector_init(&e, "node-a", &timing);
	CHECK(lease_observe(&e, &r, LEASE_HOLDER_TRUSTED, 100 * S) == LEASE_WAIT);
	/* The holder's renewTime is never compared with our clock: only when we
	 * saw the record change. Unchanged for 14 s: still theirs. */
	CHECK(lease_observe(&e, &r, LEASE_HOLDER_TRUSTED, 114 * S) == LEASE_WAIT);
	/* It renews (a new record) at 114 s: the countdown restarts. */
	r = held_by("node-b", "T1", "11");
	CHECK(lease_observe(&e, &r, LEASE_HOLDER_TRUSTED, 114 * S) == LEASE_WAIT);
	CHECK(lease_observe(&e, &r, LEASE_HOLDER_TRUSTED, 128 * S) == LEASE_WAIT);
	/* Unchanged for more than 15 s: expired, take it over. */
	CHECK(lease_observe(&e, &r, LEASE_HOLDER_TRUSTED, 130 * S) == LEASE_UPDATE);
	lease_desired(&e, LEASE_UPDATE, "T2", &want);
	CHECK_STREQ(want.holder, "node-a");
	CHECK(want.transitions == 4);
	CHECK_STREQ(want.acquire_time, "T2");
	CHECK_STREQ(want.resource_version, "11"); /* optimistic concurrency */
}

static void test_renewal_keeps_acquire_time_and_transitions(void)
{
	struct lease_elector e;
	struct lease_record r = held_by("node-a", "T0", "20"), want;

	lease_elector_init(&e, "node-a", &timing);
	lease_written(&e, &r, 100 * S);
	CHECK(e.leader);
	CHECK(lease_observe(&e, &r, LEASE_HOLDER_TRUSTED, 102 * S) == LEASE_UPDATE);
	lease_desired(&e, LEASE_UPDATE, "T1", &want);
	CHECK(want.transitions == 3);
	CHECK_STREQ(want.acquire_time, "2026-01-01T00:00:00.000000Z");
	CHECK_STREQ(want.renew_time, "T1");
}

static void test_released_lease_is_taken_at_once(void)
{
	struct lease_elector e;
	struct lease_record r = held_by("", "T0", "30");

	r.duration_s = 1;
	lease_elector_init(&e, "node-a", &timing);
	CHECK(lease_observe(&e, &r, LEASE_HOLDER_TRUSTED, 100 * S) == LEASE_UPDATE);
}

static void test_leader_steps_down_when_renewals_are_refused(void)
{
	struct lease_elector e;
	struct lease_record mine = held_by("node-a", "T0", "40");

	lease_elector_init(&e, "node-a", &timing);
	lease_written(&e, &mine, 100 * S);
	lease_rejected(&e, 105 * S);
	CHECK(!lease_must_step_down(&e, 109 * S));
	lease_rejected(&e, 111 * S);
	CHECK(lease_must_step_down(&e, 111 * S)); /* 11 s without renewal > 10 s deadline */
}

static void test_leader_steps_down_when_another_holds(void)
{
	struct lease_elector e;
	struct lease_record mine = held_by("node-a", "T0", "40"), theirs = held_by("node-b", "T5", "41");

	lease_elector_init(&e, "node-a", &timing);
	lease_written(&e, &mine, 100 * S);
	CHECK(lease_observe(&e, &theirs, LEASE_HOLDER_TRUSTED, 101 * S) == LEASE_WAIT);
	CHECK(lease_must_step_down(&e, 101 * S));
}

/* A holder not known on this kernel blinds nobody: whoever sees it attaches,
 * the leader stays attached as it steps down, and the lease is not fought over. */
static void test_untrusted_holder_means_attach(void)
{
	struct lease_elector e;
	struct lease_record mine = held_by("node-a", "T0", "60"), evil = held_by("node-evil", "T1", "61");

	lease_elector_init(&e, "node-a", &timing);
	lease_written(&e, &mine, 100 * S);
	CHECK(lease_elector_attached(&e));
	CHECK(lease_observe(&e, &evil, LEASE_HOLDER_UNTRUSTED, 101 * S) == LEASE_WAIT);
	CHECK(lease_must_step_down(&e, 101 * S));
	e.leader = false;
	CHECK(lease_elector_attached(&e));
	/* The same record from a trusted holder: detach, as before. */
	CHECK(lease_observe(&e, &evil, LEASE_HOLDER_TRUSTED, 102 * S) == LEASE_WAIT);
	CHECK(!lease_elector_attached(&e));
	/* Not known yet: nothing changes, for a follower... */
	CHECK(lease_observe(&e, &evil, LEASE_HOLDER_UNKNOWN, 103 * S) == LEASE_WAIT);
	CHECK(!lease_elector_attached(&e));
	/* ...nor for an agent attached (as leader or otherwise): no gap. */
	CHECK(lease_observe(&e, &evil, LEASE_HOLDER_UNTRUSTED, 104 * S) == LEASE_WAIT);
	CHECK(lease_observe(&e, &evil, LEASE_HOLDER_UNKNOWN, 105 * S) == LEASE_WAIT);
	CHECK(lease_elector_attached(&e));
	/* Expired: taken over, whoever held it. */
	CHECK(lease_observe(&e, &evil, LEASE_HOLDER_UNTRUSTED, 200 * S) == LEASE_UPDATE);
	CHECK(!e.untrusted_holder);
}

static void test_unreachable_api_keeps_the_leader(void)
{
	struct lease_elector e;
	struct lease_record mine = held_by("node-a", "T0", "50");

	lease_elector_init(&e, "node-a", &timing);
	lease_written(&e, &mine, 100 * S);
	lease_unreachable(&e);
	CHECK(!lease_must_step_down(&e, 140 * S));
	/* Back: the deadline counts from when it could renew again. */
	CHECK(lease_observe(&e, &mine, LEASE_HOLDER_TRUSTED, 141 * S) == LEASE_UPDATE);
	CHECK(!lease_must_step_down(&e, 141 * S));
	lease_rejected(&e, 150 * S);
	CHECK(!lease_must_step_down(&e, 150 * S));
	CHECK(lease_must_step_down(&e, 152 * S));
}

static void test_follower_does_not_count_blind_time(void)
{
	struct lease_elector e;
	struct lease_record theirs = held_by("node-b", "T0", "60");

	lease_elector_init(&e, "node-a", &timing);
	CHECK(lease_observe(&e, &theirs, LEASE_HOLDER_TRUSTED, 100 * S) == LEASE_WAIT);
	lease_unreachable(&e); /* the API server goes away for 30 s */
	/* Same record when it returns: the holder could not renew either, so it
	 * gets a whole lease duration from now. */
	CHECK(lease_observe(&e, &theirs, LEASE_HOLDER_TRUSTED, 130 * S) == LEASE_WAIT);
	CHECK(lease_observe(&e, &theirs, LEASE_HOLDER_TRUSTED, 144 * S) == LEASE_WAIT);
	CHECK(lease_observe(&e, &theirs, LEASE_HOLDER_TRUSTED, 146 * S) == LEASE_UPDATE);
}

static void test_json_round_trip_and_hostile_replies(void)
{
	struct lease_record r = held_by("node-a", "2026-11-29T00:00:00.123456Z", "77"), back;
	cJSON *j = lease_to_json(&r, "hive-x", "hive-system", "kid");
	const char *bad[] = {
		"{\"spec\": {}}",
		"{\"metadata\": {\"resourceVersion\": 5}}",
		"{\"metadata\": {\"resourceVersion\": \"1\"}, \"spec\": {\"leaseDurationSeconds\": -3}}",
		"{\"metadata\": {\"resourceVersion\": \"1\"}, \"spec\": {\"holderIdentity\": 7}}",
		"{\"metadata\": {\"resourceVersion\": \"1\"}, \"spec\": []}",
		/* Found by fuzz-lease: it would make the next write unconditional. */
		"{\"metadata\": {\"resourceVersion\": \"\"}, \"spec\": {\"holderIdentity\": \"x\"}}",
	};

	CHECK(j != NULL);
	CHECK(lease_record_from_json(j, &back) == 0);
	CHECK_STREQ(back.holder, "node-a");
	CHECK(back.duration_s == 15 && back.transitions == 3);
	CHECK_STREQ(back.renew_time, "2026-11-29T00:00:00.123456Z");
	CHECK_STREQ(back.resource_version, "77");
	CHECK_STREQ(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "labels"),
					"hive.io/kernel-id")
			    ->valuestring,
		    "kid");
	cJSON_Delete(j);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cJSON *o = cJSON_Parse(bad[i]);

		CHECK(lease_record_from_json(o, &back) == -EBADMSG);
		cJSON_Delete(o);
	}
}

static void test_microtime_format(void)
{
	char t[40];

	lease_microtime_now(t);
	CHECK(strlen(t) == 27);
	CHECK(t[19] == '.' && t[26] == 'Z');
}

static void test_follower_does_not_count_refused_time(void)
{
	struct lease_elector e;
	struct lease_record theirs = held_by("node-b", "T0", "60");

	lease_elector_init(&e, "node-a", &timing);
	CHECK(lease_observe(&e, &theirs, LEASE_HOLDER_TRUSTED, 100 * S) == LEASE_WAIT);
	lease_unreachable(&e);  /* the server goes down, */
	lease_rejected(&e, 130 * S); /* comes back refusing for a moment (RBAC warming up), */
	/* then answers: the unchanged record is fresh evidence from now on. */
	CHECK(lease_observe(&e, &theirs, LEASE_HOLDER_TRUSTED, 131 * S) == LEASE_WAIT);
	CHECK(lease_observe(&e, &theirs, LEASE_HOLDER_TRUSTED, 145 * S) == LEASE_WAIT);
	CHECK(lease_observe(&e, &theirs, LEASE_HOLDER_TRUSTED, 147 * S) == LEASE_UPDATE);
}

int main(void)
{
	RUN(test_no_lease_creates);
	RUN(test_live_holder_is_respected_until_expiry_by_local_clock);
	RUN(test_renewal_keeps_acquire_time_and_transitions);
	RUN(test_released_lease_is_taken_at_once);
	RUN(test_leader_steps_down_when_renewals_are_refused);
	RUN(test_leader_steps_down_when_another_holds);
	RUN(test_untrusted_holder_means_attach);
	RUN(test_unreachable_api_keeps_the_leader);
	RUN(test_follower_does_not_count_blind_time);
	RUN(test_follower_does_not_count_refused_time);
	RUN(test_json_round_trip_and_hostile_replies);
	RUN(test_microtime_format);
	return TAP_END();
}
