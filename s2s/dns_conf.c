/*
 * dns_conf.c — reading the resolver's settings out of the loaded config
 * into plain values (so that the resolver and its tests need no conf), and
 * the name-server address syntax.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s2s/dns.h"
#include "s2s/dns_conf.h"

int s2s_dns_parse_nameserver(const char *text, struct sockaddr_storage *out, char *err,
    size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *port = NULL;
	size_t len;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL)
			return errf(err, errlen, "\"%s\": missing ']'", text);
		len = (size_t)(close - text - 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return errf(err, errlen, "\"%s\": expected \":PORT\" after ']'", text);
		text++;
	} else {
		const char *colon = strchr(text, ':');
		/* One colon: IPv4:PORT. More: a bare IPv6 address. */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			len = (size_t)(colon - text);
			port = colon + 1;
		} else {
			len = strlen(text);
		}
	}
	if (len == 0 || len >= sizeof(addr))
		return errf(err, errlen, "\"%s\" is not an IP address", text);
	memcpy(addr, text, len);
	addr[len] = '\0';

	unsigned long p = 53;
	if (port != NULL) {
		char *end;
		if (*port < '0' || *port > '9')
			return errf(err, errlen, "bad port in \"%s\"", text);
		p = strtoul(port, &end, 10);
		if (*end != '\0' || p == 0 || p > 65535)
			return errf(err, errlen, "bad port in \"%s\": expected 1 to 65535", text);
	}

	memset(out, 0, sizeof(*out));
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		return 0;
	}
	return errf(err, errlen, "\"%s\" is not an IP address (name servers are given by address)",
	    addr);
}

static char *lower_dup(const char *s)
{
	char *d = xstrdup(s);
	for (char *p = d; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	size_t n = strlen(d);
	if (n > 1 && d[n - 1] == '.')
		d[n - 1] = '\0';
	return d;
}

int s2s_dns_settings_read(const struct conf *c, struct s2s_dns_settings *out, char *err,
    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	size_t n = conf_strlist_count(c, "s2s.dns.nameservers");
	for (size_t i = 0; i < n; i++) {
		char why[ERRLEN];
		if (i >= S2S_DNS_MAX_NAMESERVERS)
			return errf(err, errlen, "%s: s2s.dns.nameservers: at most %d name servers",
			    conf_where(c, "s2s.dns.nameservers"), S2S_DNS_MAX_NAMESERVERS);
		if (s2s_dns_parse_nameserver(conf_strlist_get(c, "s2s.dns.nameservers", i),
			&out->nameserver[i], why, sizeof(why)) < 0)
			return errf(err, errlen, "%s: s2s.dns.nameservers[%zu]: %s",
			    conf_where(c, "s2s.dns.nameservers"), i, why);
		out->nnameservers++;
	}
	/* udns counts in whole seconds: round up, so "1500ms" waits 2s, not 1. */
	out->timeout_s = (unsigned)((conf_duration_ms(c, "s2s.dns.timeout") + 999) / 1000);
	out->attempts = (unsigned)conf_int(c, "s2s.dns.attempts");
	out->cache.min_ttl_ms = (uint64_t)conf_duration_ms(c, "s2s.dns.min_ttl");
	out->cache.max_ttl_ms = (uint64_t)conf_duration_ms(c, "s2s.dns.max_ttl");
	out->cache.negative_ttl_ms = (uint64_t)conf_duration_ms(c, "s2s.dns.negative_ttl");
	out->cache.max_entries = (size_t)conf_int(c, "s2s.dns.cache_entries");
	if (out->cache.min_ttl_ms > out->cache.max_ttl_ms)
		return errf(err, errlen, "%s: s2s.dns.min_ttl: is more than s2s.dns.max_ttl",
		    conf_where(c, "s2s.dns.min_ttl"));

	size_t nr = conf_list_count(c, "s2s.routes");
	out->route = xcalloc(nr ? nr : 1, sizeof(*out->route));
	for (size_t i = 0; i < nr; i++) {
		const struct conf *e = conf_list_elem(c, "s2s.routes", i);
		struct s2s_route *r = &out->route[i];
		r->domain = lower_dup(conf_str(e, "domain"));
		r->host = lower_dup(conf_str(e, "host"));
		r->port = (uint16_t)conf_int(e, "port");
		r->direct_tls = conf_bool(e, "direct_tls");
		out->nroutes++;
		if (s2s_dns_route_find(out, r->domain) != r) {
			return errf(err, errlen, "%s: s2s.routes[%zu].domain: \"%s\" has a route already",
			    conf_where(e, "domain"), i, r->domain);
		}
	}
	return 0;
}

void s2s_dns_settings_clear(struct s2s_dns_settings *s)
{
	for (size_t i = 0; i < s->nroutes; i++) {
		free(s->route[i].domain);
		free(s->route[i].host);
	}
	free(s->route);
	memset(s, 0, sizeof(*s));
}

const struct s2s_route *s2s_dns_route_find(const struct s2s_dns_settings *s, const char *domain)
{
	for (size_t i = 0; i < s->nroutes; i++)
		if (strcasecmp(s->route[i].domain, domain) == 0)
			return &s->route[i];
	return NULL;
}
