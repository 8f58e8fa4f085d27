/*
 * sandbox.c — s2s's sandbox, applied once its listeners are open, its TLS
 * keys and CA file read and its resolver set up:
 *
 *   user      s2s.user and s2s.group, or the top-level ones (conf_user.h)
 *   privs     no_new_privs
 *   files     Landlock with no paths; with a log file, its directory, so
 *             that SIGHUP can reopen the file after rotation
 *   calls     seccomp "stdio unix inet dns": the router link (Unix
 *             socket), outgoing and incoming TCP, and udns's UDP queries
 *             (+ "cpath" for a log file)
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "conf_user.h"
#include "jid.h"
#include "log.h"
#include "s2s.h"
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

int s2s_sandbox(struct s2s *s2s, char *err, size_t errlen)
{
	warm_up();
	return sandbox_daemon(conf_user_for(s2s->conf, "s2s"), conf_group_for(s2s->conf, "s2s"),
	    s2s->log_target, s2s->report_fd, "stdio unix inet dns", err, errlen);
}
