/*
 * listen.c — the router's listening sockets, opened as root before the
 * sandbox: the Unix socket every local process connects to (created with
 * the configured mode and group, a stale file from a dead router removed
 * first, a live router never displaced), the TCP listener for peers on
 * other hosts (TLS), and the XEP-0114 port for components. Accepting is
 * peer.c's business.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf_user.h"
#include "router.h"
#include "tls.h"

/* Is a router already answering on `path`? Connecting is the only honest
 * test: a socket file outlives the process that made it. */
static int socket_in_use(const char *path, const struct sockaddr_un *sun, char *err,
    size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return errf(err, errlen, "cannot look at %s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return errf(err, errlen, "%s exists and is not a socket; "
		    "remove it or set router.socket to another path", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errf(err, errlen, "socket: %s", strerror(errno));
	int rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	int e = errno;
	close(fd);
	if (rc == 0)
		return errf(err, errlen, "another router is already listening on %s", path);
	if (e != ECONNREFUSED)
		return errf(err, errlen, "cannot tell whether a router listens on %s: %s", path,
		    strerror(e));
	/* Nobody listens: a router died without cleaning up. */
	if (unlink(path) < 0 && errno != ENOENT)
		return errf(err, errlen, "cannot remove the stale socket %s: %s", path,
		    strerror(errno));
	return 0;
}

static int listen_unix(struct router *r, char *err, size_t errlen)
{
	const struct conf *c = r->conf;
	const char *path = r->socket_path;
	const char *group = conf_str(c, "router.socket_group");
	mode_t mode = conf_mode(c, "router.socket_mode");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sun.sun_path))
		return errf(err, errlen, "router.socket: %s is longer than a socket path may be "
		    "(%zu bytes)", path, sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	gid_t gid;
	char why[ERRLEN];
	if (conf_lookup_group(group, &gid, why, sizeof(why)) < 0)
		return errf(err, errlen, "router.socket_group: %s", why);
	if (socket_in_use(path, &sun, err, errlen) < 0)
		return -1;

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errf(err, errlen, "socket: %s", strerror(errno));
	/* Created owner-only, then opened up: nobody may connect while the
	 * group and mode are still the wrong ones. */
	mode_t old = umask(0177);
	int rc = bind(fd, (const struct sockaddr *)&sun, sizeof(sun));
	int e = errno;
	umask(old);
	if (rc < 0) {
		close(fd);
		return errf(err, errlen, "cannot bind %s: %s", path, strerror(e));
	}
	r->socket_bound = true;
	if (chown(path, (uid_t)-1, gid) < 0) {
		e = errno;
		close(fd);
		return errf(err, errlen, "cannot give %s to group %s: %s", path, group, strerror(e));
	}
	if (chmod(path, mode) < 0) {
		e = errno;
		close(fd);
		return errf(err, errlen, "cannot set mode %04o on %s: %s", (unsigned)mode, path,
		    strerror(e));
	}
	if (listen(fd, SOMAXCONN) < 0) {
		e = errno;
		close(fd);
		return errf(err, errlen, "cannot listen on %s: %s", path, strerror(e));
	}
	r->unix_fd = fd;
	return 0;
}

static int listen_inet(const char *what, const char *address, int port, int *out, char *err,
    size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *ai = NULL;
	char service[16];
	int one = 1;

	snprintf(service, sizeof(service), "%d", port);
	int rc = getaddrinfo(address, service, &hints, &ai);
	if (rc != 0)
		return errf(err, errlen, "%s: cannot resolve %s: %s", what, address,
		    gai_strerror(rc));
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd < 0) {
		freeaddrinfo(ai);
		return errf(err, errlen, "%s: socket: %s", what, strerror(errno));
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
		int e = errno;
		close(fd);
		freeaddrinfo(ai);
		return errf(err, errlen, "%s: cannot listen on %s port %d: %s", what, address,
		    port, strerror(e));
	}
	freeaddrinfo(ai);
	*out = fd;
	return 0;
}

static int tls_setup(struct router *r, char *err, size_t errlen)
{
	const struct conf *c = r->conf;
	struct tls_cert_settings cert = {
		.domain = NULL,
		.cert_file = conf_str(c, "tls.certificate"),
		.key_file = conf_str(c, "tls.key"),
	};
	struct tls_settings settings = {
		.certs = &cert,
		.ncerts = 1,
		.ciphers = conf_str(c, "tls.ciphers"),
		.ciphersuites = conf_str(c, "tls.ciphersuites"),
		.verify_peer = TLS_VERIFY_NONE,
	};
	char why[ERRLEN];

	if (tls_library_init(why, sizeof(why)) < 0)
		return errf(err, errlen, "TLS: %s", why);
	r->tls = tls_context_new_server(&settings, why, sizeof(why));
	if (r->tls == NULL)
		return errf(err, errlen, "router.tcp needs TLS: %s", why);
	return 0;
}

int router_listen(struct router *r, char *err, size_t errlen)
{
	const struct conf *c = r->conf;
	const char *tcp = conf_str(c, "router.tcp.address");
	int port = (int)conf_int(c, "router.component_port");

	if (listen_unix(r, err, errlen) < 0)
		return -1;
	if (tcp != NULL) {
		if (tls_setup(r, err, errlen) < 0)
			return -1;
		if (listen_inet("router.tcp", tcp, (int)conf_int(c, "router.tcp.port"), &r->tcp_fd,
		    err, errlen) < 0)
			return -1;
	}
	/* No components configured, no port: every connection there would be
	 * refused anyway. */
	if (port != 0 && r->ncomponents > 0 &&
	    listen_inet("router.component_port", conf_str(c, "router.component_address"), port,
	    &r->component_fd, err, errlen) < 0)
		return -1;
	return 0;
}

int router_listen_start(struct router *r, char *err, size_t errlen)
{
	int fds[] = { r->unix_fd, r->tcp_fd, r->component_fd };

	for (size_t i = 0; i < ARRAY_LEN(fds); i++)
		if (fds[i] >= 0 && loop_add_fd(r->loop, fds[i], router_accept, r, err, errlen) < 0)
			return -1;
	return 0;
}

void router_unlisten(struct router *r)
{
	int *fds[] = { &r->unix_fd, &r->tcp_fd, &r->component_fd };

	for (size_t i = 0; i < ARRAY_LEN(fds); i++) {
		if (*fds[i] < 0)
			continue;
		if (r->loop != NULL)
			loop_del_fd(r->loop, *fds[i]);
		close(*fds[i]);
		*fds[i] = -1;
	}
	/* Only a socket this router made: never one a live router owns. */
	if (r->socket_bound) {
		if (unlink(r->socket_path) < 0 && errno != ENOENT)
			log_info("cannot remove the socket %s: %s (the next router removes it at "
			    "start)", r->socket_path, strerror(errno));
		r->socket_bound = false;
	}
	tls_context_free(&r->tls);
}
