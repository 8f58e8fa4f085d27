/*
 * authreg_pam_helper.c — the PAM helper: a small process auth forks
 * before its sandbox (authreg_pam.h says why) that runs PAM conversations
 * for it. It owns nothing but its end of the socketpair.
 *
 * The helper keeps the privileges auth started with (root, normally): it
 * is the one part of auth that keeps them, because pam_unix reads
 * /etc/shadow and other modules need what they need; it has no seccomp
 * filter and no Landlock domain, since modules load libraries and may run
 * programs (pam_exec). What limits it instead:
 *   - it reads nothing but fixed-layout packets from auth, checked against
 *     their lengths; it has no network socket and c2s cannot reach it;
 *   - it closes every descriptor it inherited but its socket and stdio;
 *   - it runs PAM only in children, one per request, in a process group of
 *     their own, so a module that hangs is killed with whatever it started
 *     after auth.pam.timeout, and one that crashes takes nothing else down;
 *     as a child subreaper it inherits what a conversation started and
 *     left behind (even in a session of its own) and kills that too;
 *   - at most auth.threads conversations run at once;
 *   - it never logs (a password could end up in a log): each answer
 *     carries PAM's reason back to auth, which logs it.
 * When auth goes away (its end closes, or it dies: PR_SET_PDEATHSIG) the
 * helper kills its children and exits.
 */
#include <errno.h>
#include <poll.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authreg_pam.h"
#include "loop.h"

#define TICK_MS 50

struct child {
	pid_t pid;              /* 0: a free place */
	uint32_t id;
	uint64_t started_ms;
	bool killed;            /* by us, at the timeout */
};

static volatile sig_atomic_t parent_gone;

static void on_term(int signo)
{
	(void)signo;
	parent_gone = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void answer(int sock, uint32_t id, enum pam_answer result, const char *reason)
{
	unsigned char pkt[PAM_HELPER_ANS_HEADER + PAM_HELPER_MAX_REASON];
	size_t rlen = strlen(reason);
	uint16_t len;

	if (rlen > PAM_HELPER_MAX_REASON)
		rlen = PAM_HELPER_MAX_REASON;
	len = (uint16_t)rlen;
	memcpy(pkt, &id, 4);
	pkt[4] = (unsigned char)result;
	pkt[5] = 0;
	memcpy(pkt + 6, &len, 2);
	memcpy(pkt + PAM_HELPER_ANS_HEADER, reason, rlen);
	(void)send(sock, pkt, PAM_HELPER_ANS_HEADER + rlen, MSG_NOSIGNAL);
}

/* --- one conversation (in a child) ------------------------------------------- */

struct conv_data {
	const char *password;
};

/* PAM asks; we can answer only the password. A question shown with echo
 * (a one-time code, a new password) has no answer here: the conversation
 * fails, and the stack decides what that means. */
static int converse(int n, const struct pam_message **msg, struct pam_response **resp,
    void *appdata)
{
	const struct conv_data *d = appdata;
	struct pam_response *r;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			r[i].resp = strdup(d->password);
			if (r[i].resp != NULL)
				break;
			/* fall through */
		default:
			for (int j = 0; j < i; j++) {
				if (r[j].resp != NULL) {
					explicit_bzero(r[j].resp, strlen(r[j].resp));
					free(r[j].resp);
				}
			}
			free(r);
			return PAM_CONV_ERR;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static enum pam_answer classify(int rc)
{
	switch (rc) {
	case PAM_SUCCESS:
		return PAM_ANSWER_YES;
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_CRED_INSUFFICIENT:
	case PAM_MAXTRIES:
	case PAM_PERM_DENIED:
	case PAM_ACCT_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_AUTHTOK_EXPIRED:
	case PAM_CRED_EXPIRED:
		return PAM_ANSWER_NO;
	default:
		/* AUTHINFO_UNAVAIL, SYSTEM_ERR, SERVICE_ERR, CONV_ERR, ABORT…:
		 * the stack could not decide, which is not a "no". */
		return PAM_ANSWER_ERROR;
	}
}

/* pam_authenticate, then pam_acct_mgmt (an expired or locked account
 * fails even with the right password). */
NORETURN static void conversation(int sock, const char *service, uint32_t id, const char *user,
    const char *password)
{
	struct conv_data data = { password };
	const struct pam_conv conv = { converse, &data };
	pam_handle_t *h = NULL;
	char reason[PAM_HELPER_MAX_REASON];
	const char *step = "pam_start";
	int rc;

	rc = pam_start(service, user, &conv, &h);
	if (rc == PAM_SUCCESS) {
		step = "pam_authenticate";
		rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	}
	if (rc == PAM_SUCCESS) {
		step = "pam_acct_mgmt";
		rc = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	}
	snprintf(reason, sizeof(reason), "%s: %s", step, pam_strerror(h, rc));
	answer(sock, id, classify(rc), rc == PAM_SUCCESS ? "" : reason);
	if (h != NULL)
		(void)pam_end(h, rc);
	_exit(0);
}

/* --- the helper's loop ------------------------------------------------------------ */

static void kill_child(struct child *c)
{
	/* The group takes what the module started (pam_exec's program);
	 * the pid alone in case the child had not made its group yet. */
	(void)kill(-c->pid, SIGKILL);
	(void)kill(c->pid, SIGKILL);
}

/* What a conversation started and left behind (pam_exec's program calls
 * setsid, so it leaves the conversation's process group) is reparented to
 * us, the subreaper, when the conversation ends: every child of ours that
 * is not a running conversation is such a leftover, and is killed. */
static void kill_leftovers(const struct child *children, unsigned n)
{
	char path[64], buf[4096];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	f = fopen(path, "re");
	if (f == NULL)
		return;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	for (char *p = buf, *end; *p != '\0'; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		bool ours = false;
		for (unsigned i = 0; i < n && !ours; i++)
			ours = children[i].pid == (pid_t)pid;
		if (!ours && pid > 1) {
			(void)kill(-(pid_t)pid, SIGKILL);
			(void)kill((pid_t)pid, SIGKILL);
		}
	}
}

/* A child ended: answer for it unless it answered itself. */
static void reap(int sock, struct child *children, unsigned n)
{
	int status;
	pid_t pid;
	bool ended = false;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		ended = true;
		for (unsigned i = 0; i < n; i++) {
			struct child *c = &children[i];
			if (c->pid != pid)
				continue;
			/* Its group may still hold what a module started. */
			(void)kill(-pid, SIGKILL);
			char why[96];
			if (c->killed)
				snprintf(why, sizeof(why), "no answer within the timeout: killed");
			else if (WIFSIGNALED(status))
				snprintf(why, sizeof(why), "the conversation died of signal %d",
				    WTERMSIG(status));
			else
				snprintf(why, sizeof(why), "the conversation exited with status %d",
				    WEXITSTATUS(status));
			if (c->killed || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
				answer(sock, c->id, PAM_ANSWER_ERROR, why);
			c->pid = 0;
			break;
		}
	}
	if (ended)
		kill_leftovers(children, n);
}

static void serve(int sock, const char *service, struct child *children, unsigned n,
    const unsigned char *pkt, size_t len)
{
	uint32_t id;
	uint16_t ulen, plen;
	char user[PAM_HELPER_MAX_PACKET], password[PAM_HELPER_MAX_PACKET];

	if (len < PAM_HELPER_REQ_HEADER)
		return;
	memcpy(&id, pkt, 4);
	memcpy(&ulen, pkt + 4, 2);
	memcpy(&plen, pkt + 6, 2);
	if ((size_t)PAM_HELPER_REQ_HEADER + ulen + plen != len || ulen == 0 ||
	    memchr(pkt + PAM_HELPER_REQ_HEADER, '\0', (size_t)ulen + plen) != NULL) {
		answer(sock, id, PAM_ANSWER_ERROR, "malformed request");
		return;
	}
	struct child *slot = NULL;
	for (unsigned i = 0; i < n && slot == NULL; i++)
		if (children[i].pid == 0)
			slot = &children[i];
	if (slot == NULL) {
		answer(sock, id, PAM_ANSWER_ERROR, "too many conversations at once");
		return;
	}
	memcpy(user, pkt + PAM_HELPER_REQ_HEADER, ulen);
	user[ulen] = '\0';
	memcpy(password, pkt + PAM_HELPER_REQ_HEADER + ulen, plen);
	password[plen] = '\0';
	pid_t pid = fork();
	if (pid == 0) {
		(void)setpgid(0, 0);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		conversation(sock, service, id, user, password);
	}
	explicit_bzero(password, plen);
	if (pid < 0) {
		char why[96];
		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		answer(sock, id, PAM_ANSWER_ERROR, why);
		return;
	}
	(void)setpgid(pid, pid);
	slot->pid = pid;
	slot->id = id;
	slot->started_ms = now_ms();
	slot->killed = false;
}

void pam_helper_main(int sock, const char *service, unsigned max_children, unsigned timeout_ms,
    pid_t parent)
{
	struct child *children = calloc(max_children, sizeof(*children));
	unsigned char pkt[PAM_HELPER_MAX_PACKET];

	if (children == NULL)
		_exit(1);
	loop_child_unblock_signals();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, on_term);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	/* Orphans of our conversations become our children (kill_leftovers). */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* Only the socket and stdio stay: nothing of auth's (its loop, the
	 * salt secret's traces, the log) reaches PAM's modules. */
	if (sock != 3) {
		if (dup2(sock, 3) < 0)
			_exit(1);
		sock = 3;
	}
	(void)close_range(4, ~0U, 0);

	while (!parent_gone) {
		struct pollfd pfd = { sock, POLLIN, 0 };
		int rc = poll(&pfd, 1, TICK_MS);

		reap(sock, children, max_children);
		uint64_t now = now_ms();
		for (unsigned i = 0; i < max_children; i++) {
			struct child *c = &children[i];
			if (c->pid != 0 && !c->killed && now - c->started_ms >= timeout_ms) {
				kill_child(c);
				c->killed = true;
			}
		}
		if (rc <= 0)
			continue;
		ssize_t n = recv(sock, pkt, sizeof(pkt), MSG_DONTWAIT | MSG_TRUNC);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
		if (n > 0 && (size_t)n <= sizeof(pkt))
			serve(sock, service, children, max_children, pkt, (size_t)n);
		explicit_bzero(pkt, sizeof(pkt));
	}
	/* auth is gone: so are the conversations. */
	for (unsigned i = 0; i < max_children; i++)
		if (children[i].pid != 0)
			kill_child(&children[i]);
	/* Then whatever they started, as it is handed to us: for a second
	 * at most, until we have no child left. */
	memset(children, 0, max_children * sizeof(*children));
	for (int i = 0; i < 100; i++) {
		kill_leftovers(children, max_children);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			break;
		(void)poll(NULL, 0, 10);
	}
	_exit(0);
}
