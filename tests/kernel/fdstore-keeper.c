/* SPDX-License-Identifier: MIT */
/*
 * What systemd does for hived's restarts, for a guest with no systemd (the
 * QEMU tests): run the command with NOTIFY_SOCKET set, keep the descriptors
 * it stores (FDSTORE=1 with FDNAME=, FDSTOREREMOVE=1), and when it dies
 * without being asked to, start it again with them (LISTEN_FDS,
 * LISTEN_FDNAMES, LISTEN_PID), as Restart=on-failure with a file
 * descriptor store would. SIGTERM: stop it and let go of every descriptor (a
 * stop, after which nothing of the agent stays in the kernel).
 *
 * usage: fdstore-keeper COMMAND [ARG...]
 * Says "HIVE: keeper: ..." lines on stderr for the test's log.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FDS 64
/* Abstract, one per keeper (two agents may run side by side): "@" and this. */
static char socket_name[64];

struct stored {
	int fd;
	char name[64];
};

static struct stored store[MAX_FDS];
static size_t n_store;

static void forget(const char *name)
{
	for (size_t i = 0; i < n_store;)
		if (strcmp(store[i].name, name) == 0) {
			close(store[i].fd);
			store[i] = store[--n_store];
		} else
			i++;
}

/* One notification: FDSTORE=1 with its descriptors, or FDSTOREREMOVE=1. */
static void on_message(int sock)
{
	char buf[4096], control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	int fds[MAX_FDS];
	size_t n_fds = 0;
	char name[64] = "stored";
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);

	if (n < 0)
		return;
	buf[n] = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			n_fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(c), n_fds * sizeof(int));
		}
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "FDNAME=", 7) == 0)
			snprintf(name, sizeof(name), "%s", line + 7);
	if (strstr(buf, "FDSTOREREMOVE=1"))
		forget(name);
	for (size_t i = 0; i < n_fds; i++) {
		if (!strstr(buf, "FDSTORE=1") || n_store == MAX_FDS) {
			close(fds[i]);
			continue;
		}
		store[n_store] = (struct stored){ .fd = fds[i] };
		snprintf(store[n_store++].name, sizeof(store[0].name), "%s", name);
	}
}

static pid_t start(char **argv)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	{
		char names[MAX_FDS * 65] = "", count[16], self[16];
		int high[MAX_FDS];
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Out of the way of 3..3+n first, then in place: only those go to
		 * the command (systemd passes nothing else either). */
		for (size_t i = 0; i < n_store; i++)
			high[i] = fcntl(store[i].fd, F_DUPFD_CLOEXEC, 100);
		for (size_t i = 0; i < n_store; i++) {
			dup2(high[i], 3 + (int)i);
			strcat(names, i ? ":" : "");
			strcat(names, store[i].name);
		}
		snprintf(count, sizeof(count), "%zu", n_store);
		snprintf(self, sizeof(self), "%d", (int)getpid());
		setenv("NOTIFY_SOCKET", socket_name, 1);
		if (n_store) {
			setenv("LISTEN_FDS", count, 1);
			setenv("LISTEN_FDNAMES", names, 1);
			setenv("LISTEN_PID", self, 1);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t len;
	bool stopping = false;
	sigset_t mask;
	pid_t child;
	int sock, sigs;

	if (argc < 2) {
		fprintf(stderr, "usage: fdstore-keeper COMMAND [ARG...]\n");
		return 2;
	}
	/* Abstract: nothing to clean up, nothing a file system must allow. */
	snprintf(socket_name, sizeof(socket_name), "@hive-fdstore-keeper-%d", (int)getpid());
	memcpy(addr.sun_path + 1, socket_name + 1, strlen(socket_name) - 1);
	len = offsetof(struct sockaddr_un, sun_path) + strlen(socket_name);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&addr, len) < 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int)) < 0) {
		perror("fdstore-keeper: notify socket");
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigs = signalfd(-1, &mask, SFD_CLOEXEC);
	child = start(argv + 1);
	for (;;) {
		struct pollfd p[] = { { .fd = sock, .events = POLLIN }, { .fd = sigs, .events = POLLIN } };
		struct signalfd_siginfo si;
		int status;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents)
			on_message(sock);
		if (!p[1].revents || read(sigs, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGTERM) {
			stopping = true;
			kill(child, SIGTERM);
			continue;
		}
		if (waitpid(child, &status, WNOHANG) != child)
			continue;
		/* What it stored before it went is read before it starts again. */
		while (poll(p, 1, 0) > 0)
			on_message(sock);
		if (stopping)
			break;
		fprintf(stderr, "HIVE: keeper: %s ended (%s %d), starting it again with %zu stored descriptors\n",
			argv[1], WIFSIGNALED(status) ? "signal" : "status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), n_store);
		child = start(argv + 1);
	}
	for (size_t i = 0; i < n_store; i++)
		close(store[i].fd);
	fprintf(stderr, "HIVE: keeper: stopped, every stored descriptor closed\n");
	return 0;
}
