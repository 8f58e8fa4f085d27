/*
 * auth.h — what the files of parley-auth share: the process's state and
 * settings, and the entry points of each part.
 *
 *   main.c      the privilege story
 *   config.c    settings from parley.conf, the salt secret file
 *   exchange.c  SASL exchanges: SASL_START / SASL_STEP → SASL_RESULT
 *   plain.c     PLAIN against backends without SCRAM secrets (pipe)
 *   register.c  XEP-0077 in-band registration, password change, cancel
 *   delay.c     the growing delay after repeated failures per address
 *   authreg*.c  the user databases behind one interface
 *   sandbox.c   user, no_new_privs, Landlock, seccomp
 */
#ifndef PARLEY_AUTH_H
#define PARLEY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authreg.h"
#include "conf.h"
#include "delay.h"
#include "frame.h"
#include "hash.h"
#include "loop.h"
#include "router_link.h"
#include "sasl.h"

/* The name every auth process binds, shared (router.shared_names). */
#define AUTH_NAME "auth"
#define AUTH_SALT_SECRET_LEN 32

struct auth_settings {
	const char *backend;          /* "internal" | "pipe" */
	const char *const *pipe_argv; /* auth.pipe.program */
	size_t pipe_argc;
	unsigned pipe_timeout_ms;
	unsigned iterations;
	const char *salt_secret_file;
	bool registration;
	uint64_t sasl_timeout_ms;
	struct delay_policy delay;
};

struct auth {
	const struct conf *conf;
	struct auth_settings set;
	char instance[32];            /* "auth.1" */
	const char *log_target;
	int report_fd;
	uint8_t salt_secret[AUTH_SALT_SECRET_LEN];

	struct loop *loop;
	struct router_link *link;
	struct authreg *authreg;
	struct sasl_server *sasl;
	struct hash *exchanges;       /* "from\0session-id" → struct exchange */
	struct delay_table *delays;
	struct xml_stream *parser;    /* for the stanzas of ROUTE frames */
	bool stopping;
};

/* config.c */
int auth_configure(struct auth *a, const struct conf *c, struct conf_errors *errs);
void auth_unconfigure(struct auth *a);
/* Read the salt secret, creating it (0600, random) if missing; as root,
 * before the sandbox. */
int auth_load_salt_secret(struct auth *a, char *err, size_t errlen);
/* Open the backend auth.backend names (the pipe program starts here). */
int auth_open_backend(struct auth *a, char *err, size_t errlen);

/* exchange.c */
int auth_sasl_init(struct auth *a, char *err, size_t errlen);
void auth_sasl_start(struct auth *a, const struct frame *f);
void auth_sasl_step(struct auth *a, const struct frame *f);
/* c2s instance `name` went away: drop its exchanges without answering. */
void auth_sasl_peer_down(struct auth *a, const char *name);
/* SIGTERM: answer every exchange temporary-auth-failure. */
void auth_sasl_fail_all(struct auth *a);
void auth_sasl_fini(struct auth *a);

/* register.c: a ROUTE frame to "auth" (jabber:iq:register). */
void auth_register_route(struct auth *a, const struct frame *f);

/* sandbox.c */
int auth_sandbox(struct auth *a, char *err, size_t errlen);

#endif
