/*
 * conf_hosts.c — "is this one of the domains we serve?", answered the same
 * way by every process: both sides prepared (common/jid), so "Example.ORG"
 * and an A-label form match the configured name.
 */
#include <string.h>

#include "conf.h"
#include "jid.h"

bool conf_hosted_domain(const struct conf *c, const char *domain, char out[JID_PART_BUFSIZE])
{
	char err[ERRLEN], h[JID_PART_BUFSIZE];

	if (domain == NULL || jid_prep_domainpart(domain, strlen(domain), out, err, sizeof(err)) < 0)
		return false;
	for (size_t i = 0; i < conf_strlist_count(c, "hosts"); i++) {
		const char *cand = conf_strlist_get(c, "hosts", i);
		if (jid_prep_domainpart(cand, strlen(cand), h, err, sizeof(err)) == 0 &&
		    strcmp(h, out) == 0)
			return true;
	}
	return false;
}
