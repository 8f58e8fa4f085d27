/*
 * sandbox.c — c2s's sandbox, applied once its listeners are open and its
 * TLS key is read. After that c2s opens no file at all: it accepts on its
 * listeners, talks TLS over sockets it holds and reaches the router by a
 * connect() to its socket.
 *
 *   user      c2s.user and c2s.group, or the top-level ones (conf_user.h)
 *   privs     no_new_privs
 *   files     Landlock with no paths; with a log file, its directory, so
 *             that SIGHUP can reopen the file after rotation
 *   calls     seccomp "stdio unix inet" (+ "cpath" for a log file)
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "c2s.h"
#include "conf_user.h"
#include "log.h"
#include "sandbox.h"

/* Whatever loads something on first use does it now, while files are
 * still there: libidn's tables, OpenSSL's random generator. */
static void warm_up(void)
{
	struct jid *jid = NULL;
	unsigned char r[8];
	char why[ERRLEN];

	if (jid_parse(&jid, "warm@up.example/now", 19, why, sizeof(why)) == 0)
		jid_free(&jid);
	(void)RAND_bytes(r, sizeof(r));
}

int c2s_sandbox(struct c2s *c2s, char *err, size_t errlen)
{
	warm_up();
	return sandbox_daemon(conf_user_for(c2s->conf, "c2s"), conf_group_for(c2s->conf, "c2s"),
	    c2s->log_target, c2s->report_fd, "stdio unix inet", err, errlen);
}
