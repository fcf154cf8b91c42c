/* SPDX-License-Identifier: MIT */
#ifndef HIVE_LOG_JOURNAL_H
#define HIVE_LOG_JOURNAL_H

/*
 * When stderr is the journal's stream, hived's log lines go to the journal
 * natively instead, as structured entries: the stream carries text and a
 * priority only, and so would lose each line's MESSAGE_ID (the catalog's
 * key, what alerts match on). A line the journal refuses goes to stderr.
 */
void log_journal_setup(void);

#endif
