/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "daemon/log-journal.h"
#include "shared/log.h"

static int write_journal(int level, int error, const char *message_id, const char *message)
{
	_cleanup_(freep) char *text = NULL;
	char priority[16], id[64], errno_field[32];
	struct iovec iov[5];
	size_t n = 0;

	if (asprintf(&text, "MESSAGE=%s", message) < 0)
		return -ENOMEM;
	iov[n++] = (struct iovec){ text, strlen(text) };
	snprintf(priority, sizeof(priority), "PRIORITY=%d", level);
	iov[n++] = (struct iovec){ priority, strlen(priority) };
	iov[n++] = (struct iovec){ (char *)"SYSLOG_IDENTIFIER=hived", strlen("SYSLOG_IDENTIFIER=hived") };
	if (message_id) {
		snprintf(id, sizeof(id), "MESSAGE_ID=%s", message_id);
		iov[n++] = (struct iovec){ id, strlen(id) };
	}
	if (error) {
		snprintf(errno_field, sizeof(errno_field), "ERRNO=%d", error);
		iov[n++] = (struct iovec){ errno_field, strlen(errno_field) };
	}
	return sd_journal_sendv(iov, n);
}

void log_journal_setup(void)
{
	if (log_stderr_is_journal())
		log_set_writer(write_journal);
}
