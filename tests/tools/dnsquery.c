/*
 * dnsquery.c — resolves remote XMPP domains with s2s/dns.c, as parley-s2s
 * would, and prints the targets; for tests/integration/test_s2s_dns.py and
 * for operators wondering where a domain's server is. A test tool: no
 * sandbox, no logging.
 *
 * Usage:
 *   dnsquery [-c CONFIG | -n NAMESERVER...] [-t SECONDS] [-a ATTEMPTS]
 *            [-s SEED] [-r ROUNDS] [-x MS] [-w MS] DOMAIN...
 *   -c  read s2s.dns and s2s.routes from this parley.conf
 *   -n  a name server ("IP" or "IP:PORT"; repeatable) instead of a config
 *   -t, -a  s2s.dns.timeout and attempts when no config is given
 *   -s  seed of the SRV weight choice (default: random)
 *   -r  resolve every domain ROUNDS times, one round after the other (the
 *       later rounds show the cache at work)
 *   -x  cancel every query still unanswered after MS milliseconds
 *   -w  after the last round, keep running MS milliseconds more (so that
 *       answers to cancelled queries arrive before the resolver is freed)
 *
 * Every domain of a round is resolved at once; when the round is over,
 * the results are printed in command-line order, one target per line:
 *   DOMAIN HOST PORT starttls|direct_tls ADDRESS...
 * or "DOMAIN error: REASON", or "DOMAIN cancelled". Rounds after the first
 * are preceded by "round N". Exit status 0 once every query has ended.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "loop.h"
#include "s2s/dns.h"

struct item {
	const char *domain;
	struct s2s_dns_query *query;
	struct s2s_targets *targets;
	char error[ERRLEN];
	bool done, cancelled;
};

struct run {
	struct loop *loop;
	struct s2s_dns *dns;
	struct item *item;
	size_t nitem, left;
	struct timer *cancel_timer;
};

static struct run run;

static void usage(void)
{
	fprintf(stderr, "usage: dnsquery [-c CONFIG | -n NAMESERVER...] [-t SECONDS] [-a ATTEMPTS] "
			"[-s SEED] [-r ROUNDS] [-x MS] [-w MS] DOMAIN...\n");
	exit(2);
}

static void item_done(struct item *it)
{
	it->done = true;
	if (--run.left == 0)
		loop_stop(run.loop);
}

static void on_resolved(struct s2s_targets *targets, const char *error, void *arg)
{
	struct item *it = arg;
	it->query = NULL;
	it->targets = targets;
	if (error != NULL)
		snprintf(it->error, sizeof(it->error), "%s", error);
	item_done(it);
}

static void on_cancel(struct loop *loop, void *arg)
{
	(void)loop;
	(void)arg;
	run.cancel_timer = NULL;
	for (size_t i = 0; i < run.nitem; i++) {
		struct item *it = &run.item[i];
		if (!it->done) {
			s2s_dns_cancel(&it->query);
			it->cancelled = true;
			item_done(it);
		}
	}
}

static void on_linger_end(struct loop *loop, void *arg)
{
	(void)arg;
	loop_stop(loop);
}

static void print_item(const struct item *it)
{
	if (it->cancelled) {
		printf("%s cancelled\n", it->domain);
		return;
	}
	if (it->targets == NULL) {
		printf("%s error: %s\n", it->domain, it->error);
		return;
	}
	for (size_t i = 0; i < it->targets->count; i++) {
		const struct s2s_target *t = &it->targets->target[i];
		printf("%s %s %u %s", it->domain, t->host, (unsigned)t->port,
		    t->direct_tls ? "direct_tls" : "starttls");
		for (size_t j = 0; j < t->naddr; j++) {
			char text[INET6_ADDRSTRLEN];
			const struct sockaddr_storage *a = &t->addr[j];
			const void *bytes = a->ss_family == AF_INET6
			    ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
			    : (const void *)&((const struct sockaddr_in *)a)->sin_addr;
			inet_ntop(a->ss_family, bytes, text, sizeof(text));
			printf(" %s", text);
		}
		printf("\n");
	}
}

/* The config dnsquery writes for itself when given name servers. */
static char *config_text(char **ns, size_t nns, const char *timeout, const char *attempts)
{
	size_t cap = 512 + nns * 64;
	char *text = xmalloc(cap);
	int n = snprintf(text, cap, "hosts = [ \"localhost\" ];\ns2s = { dns = { timeout = %s; "
				    "attempts = %s; nameservers = [",
	    timeout, attempts);
	for (size_t i = 0; i < nns; i++)
		n += snprintf(text + n, cap - (size_t)n, "%s \"%s\"", i ? "," : "", ns[i]);
	snprintf(text + n, cap - (size_t)n, " ]; }; };\n");
	return text;
}

int main(int argc, char **argv)
{
	const char *config = NULL, *timeout = "1", *attempts = "1";
	char *ns[8];
	size_t nns = 0;
	long rounds = 1, cancel_ms = -1, linger_ms = 0;
	bool seeded = false;
	unsigned long long seed = 0;
	int opt;

	while ((opt = getopt(argc, argv, "c:n:t:a:s:r:x:w:")) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'n':
			if (nns == sizeof(ns) / sizeof(ns[0]))
				usage();
			ns[nns++] = optarg;
			break;
		case 't': timeout = optarg; break;
		case 'a': attempts = optarg; break;
		case 's': seeded = true; seed = strtoull(optarg, NULL, 10); break;
		case 'r': rounds = strtol(optarg, NULL, 10); break;
		case 'x': cancel_ms = strtol(optarg, NULL, 10); break;
		case 'w': linger_ms = strtol(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind >= argc || rounds < 1 || (config != NULL && nns > 0))
		usage();

	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	int r;
	if (config != NULL) {
		r = conf_load(&c, config, &errs);
	} else {
		char *text = config_text(ns, nns, timeout, attempts);
		r = conf_load_string(&c, text, "dnsquery", &errs);
		free(text);
	}
	if (r < 0) {
		conf_errors_print(&errs, stderr);
		conf_errors_clear(&errs);
		return 1;
	}

	char err[ERRLEN];
	run.loop = loop_new(err, sizeof(err));
	if (run.loop == NULL) {
		fprintf(stderr, "dnsquery: %s\n", err);
		return 1;
	}
	run.dns = s2s_dns_new(run.loop, c, err, sizeof(err));
	conf_free(&c);
	if (run.dns == NULL) {
		fprintf(stderr, "dnsquery: %s\n", err);
		loop_free(&run.loop);
		return 1;
	}
	if (seeded)
		s2s_dns_seed(run.dns, seed);

	run.nitem = (size_t)(argc - optind);
	run.item = xcalloc(run.nitem, sizeof(*run.item));
	int status = 0;
	for (long round = 1; round <= rounds && status == 0; round++) {
		run.left = run.nitem;
		for (size_t i = 0; i < run.nitem; i++) {
			struct item *it = &run.item[i];
			memset(it, 0, sizeof(*it));
			it->domain = argv[optind + (int)i];
			it->query = s2s_dns_resolve(run.dns, it->domain, on_resolved, it);
		}
		if (cancel_ms >= 0)
			run.cancel_timer = loop_timer_add(run.loop, (uint64_t)cancel_ms, on_cancel, NULL);
		if (loop_run(run.loop) < 0)
			status = 1;
		loop_timer_cancel(run.loop, &run.cancel_timer);
		if (round > 1)
			printf("round %ld\n", round);
		for (size_t i = 0; i < run.nitem; i++) {
			print_item(&run.item[i]);
			s2s_targets_free(&run.item[i].targets);
		}
		fflush(stdout);
	}
	if (linger_ms > 0 && status == 0) {
		struct timer *t = loop_timer_add(run.loop, (uint64_t)linger_ms, on_linger_end, NULL);
		(void)t;
		if (loop_run(run.loop) < 0)
			status = 1;
	}
	if (s2s_dns_pending(run.dns) != 0) {
		fprintf(stderr, "dnsquery: %zu queries still pending\n", s2s_dns_pending(run.dns));
		status = 1;
	}
	free(run.item);
	s2s_dns_free(&run.dns);
	loop_free(&run.loop);
	return status;
}
