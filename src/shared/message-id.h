/* SPDX-License-Identifier: MIT */
#ifndef HIVE_MESSAGE_ID_H
#define HIVE_MESSAGE_ID_H

/*
 * The journal's MESSAGE_ID of what hived says that someone may look for by
 * identity rather than by wording: `journalctl MESSAGE_ID=...`, alerts, the
 * tests. systemd/hive.catalog explains each (journalctl -x). With
 * HIVE_LOG_FORMAT=json on stderr they are the "message_id" of a line.
 */

/* An access record (output.c), not a log line. */
#define HIVE_MESSAGE_ACCESS "feff1561c2e44c39b94887118ce1eafc"

/* The access hooks are attached, in the mode the message names. */
#define HIVE_MESSAGE_ATTACHED "0eacf00008494e81aa5db0d5be5d684d"
/* No attach mode could be loaded: nothing is recorded on this kernel. */
#define HIVE_MESSAGE_ATTACH_FAILED "8eb1af0b0ad24fa6a96e947cbd05ca05"
/* The previous agent's maps were adopted across a restart. */
#define HIVE_MESSAGE_ADOPTED "b93d6c35d022411d8caa4ed1bc326d39"
/* The kernel's counters (and the last ones, at exit). */
#define HIVE_MESSAGE_STATS "c435797372e842d1a502ee2bc6880c63"
/* A reload was refused: the policies in force stay. */
#define HIVE_MESSAGE_RELOAD_REFUSED "5f619b9def3f4588a51968a66cd5aa12"
/* A watched path now leads to another file than before, elsewhere. */
#define HIVE_MESSAGE_WATCH_MOVED "b25b1394810f44248b1dbfad6ef87044"
/* A path is not watched for what it goes through (a symlink the policy does
 * not follow, a loop, a magic link, a way out of a container's root). */
#define HIVE_MESSAGE_PATH_REFUSED "75b7a8db96244c7084c99adb3a97d0fd"
/* Without followSymlinks, the file stays watched though its path changed. */
#define HIVE_MESSAGE_WATCH_KEPT "113833d191544374bf1351f1ad48fd9c"
/* A policy object of the cluster is refused by this node. */
#define HIVE_MESSAGE_POLICY_REFUSED "f6d4bf88c5ac486b82f6250b4ee9ab31"
/* This node's NodeWatch was changed or deleted by someone else. */
#define HIVE_MESSAGE_NODEWATCH_TAMPERED "be703f59a18f405195b7606c606370d6"
/* Another node's NodeWatch is ignored: that node is not known to run here. */
#define HIVE_MESSAGE_NODEWATCH_IGNORED "74b218ad9f374d54be127732363f4e19"
/* The lease holder is not known to run on this kernel: attached anyway. */
#define HIVE_MESSAGE_SELF_ATTACHED "20dec3e8350f46f0ab4effc72c423056"
/* The API server cannot be reached: the hooks stay as they are. */
#define HIVE_MESSAGE_API_UNREACHABLE "ef34d06d69994c03aaeada2103a61261"
/* Records come faster than they are written: accesses are aggregated. */
#define HIVE_MESSAGE_AGGREGATING "68a4db2acd604b24b36f8eb12545af44"
/* The kernel skipped runs of the access hooks: accesses may have no record. */
#define HIVE_MESSAGE_MISSED "220b449c6bd042b693261072f5d4d8dd"

#endif
