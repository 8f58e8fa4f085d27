"""prosody.py — Debian's Prosody (0.12) as a federation peer for tests: one
VirtualHost, c2s and s2s on loopback ports of its own, everything (config,
data, log, pid file, plugin) inside the suite's temp dir, stopped by PID.

    ca = TestCA(suite.path("pki"))
    p = Prosody(suite, "p.test", ca=ca)              # certificate from ca, trusts ca
    p.route("a.test", parley_s2s_port)                # outgoing s2s to a.test -> 127.0.0.1
    p.start()
    p.register("alice", "secret")
    ... p.c2s_port, p.s2s_port, p.log() ...
    p.stop()                                          # or leave it to the suite

Prosody finds s2s peers through DNS SRV, and tests have no DNS for their
domains. The harness writes a plugin, mod_parley_test_routes, that wraps
net.resolvers.service's new(): for a routed domain, the "xmpp-server"
lookup becomes net.resolvers.basic for the fixed address (an IP, so no DNS
at all) and the "xmpps-server" one (direct TLS, tried first when Prosody
has a TLS context for the session) yields nothing; other domains go to the
real resolver. mod_s2s calls service.new() through the module table at
each new outgoing connection, so replacing the field is enough. Dialback
needs it both ways: the receiving server connects back to the sender's
domain to verify the key.

Certificates: `cert` (a testca.Cert) is served for the VirtualHost on c2s
and s2s and offered as the client certificate on outgoing s2s; `ca` both
issues one when no cert is given and is trusted (ssl.cafile). `cafile`
overrides what is trusted, e.g. another CA's file so that a peer's good
certificate does not verify and dialback has to be used. The system CA
directory is replaced by an empty one, so nothing else is trusted.
"""
import os
import subprocess

from parley import free_port, port_open, wait_until

PROSODY = "/usr/bin/prosody"
PROSODYCTL = "/usr/bin/prosodyctl"

ROUTES_PLUGIN = r"""-- mod_parley_test_routes: written by tests/integration/lib/prosody.py.
-- Outgoing s2s to the domains in parley_test_routes goes to a fixed
-- address instead of through DNS SRV. For tests only.
local basic = require "net.resolvers.basic";
local service = require "net.resolvers.service";

local routes = module:get_option("parley_test_routes", {});

-- Loaded once per host: wrap the real new() only once.
local real_new = service.parley_real_new or service.new;
service.parley_real_new = real_new;

local nothing_mt = { __index = {
	next = function (self, cb)
		self.last_error = "parley_test_routes: no direct TLS route";
		cb(nil);
	end;
} };

service.new = function (hostname, service_name, conn_type, extra)
	local route = routes[hostname];
	if route == nil then
		return real_new(hostname, service_name, conn_type, extra);
	end
	if service_name ~= "xmpp-server" then
		return setmetatable({}, nothing_mt);
	end
	module:log("debug", "parley_test_routes: %s is %s port %d", hostname, route[1], route[2]);
	return basic.new(route[1], route[2], conn_type, extra);
end
"""


def lua_string(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Prosody:
    def __init__(self, suite, domain, name=None, ca=None, cert=None, cafile=None,
                 secure_auth=False, require_encryption=True, dialback=True,
                 modules=(), extra_config="", host_config=""):
        self.suite = suite
        self.domain = domain
        self.name = name or f"prosody-{domain}"
        self.dir = suite.mkdir(self.name)
        self.data = os.path.join(self.dir, "data")
        self.plugins = os.path.join(self.dir, "plugins")
        self.capath = os.path.join(self.dir, "capath")
        # Where Prosody looks for HOST.crt on its own; empty, but it logs
        # an error if the directory is missing.
        self.certs = os.path.join(self.dir, "certs")
        for d in (self.data, self.plugins, self.capath, self.certs):
            os.makedirs(d, exist_ok=True)
        self.conf = os.path.join(self.dir, "prosody.cfg.lua")
        self.log_path = os.path.join(self.dir, "prosody.log")
        self.pidfile = os.path.join(self.dir, "prosody.pid")
        self.c2s_port = free_port()
        self.s2s_port = free_port()
        if cert is None and ca is not None:
            cert = ca.server_cert([domain], name=f"{self.name}-cert")
        self.cert = cert
        self.cafile = cafile or (ca.cert if ca is not None else None)
        self.secure_auth = secure_auth
        self.require_encryption = require_encryption
        self.dialback = dialback
        self.modules = list(modules)
        self.extra_config = extra_config
        self.host_config = host_config
        self.routes = {}
        self.proc = None

    def route(self, domain, port, address="127.0.0.1"):
        """Send outgoing s2s for `domain` to address:port (before start())."""
        self.routes[domain] = (address, port)

    def _config(self):
        modules = ["roster", "saslauth", "tls", "disco", "ping", "parley_test_routes"]
        if self.dialback:
            modules.append("dialback")
        modules += self.modules
        routes = "".join(f"  [{lua_string(d)}] = {{ {lua_string(a)}, {p} }};\n"
                         for d, (a, p) in self.routes.items())
        ssl = [f"capath = {lua_string(self.capath)};"]
        if self.cafile:
            ssl.append(f"cafile = {lua_string(self.cafile)};")
        host_ssl = ""
        if self.cert:
            host_ssl = (f"  ssl = {{ certificate = {lua_string(self.cert.cert)}; "
                        f"key = {lua_string(self.cert.key)}; }}\n")
        lua_bool = {True: "true", False: "false"}
        return (
            "-- Written by tests/integration/lib/prosody.py\n"
            "run_as_root = true\n"
            f"pidfile = {lua_string(self.pidfile)}\n"
            f"data_path = {lua_string(self.data)}\n"
            f"plugin_paths = {{ {lua_string(self.plugins)} }}\n"
            f"certificates = {lua_string(self.certs)}\n"
            f"log = {{ {{ levels = {{ min = \"debug\" }}; to = \"file\"; "
            f"filename = {lua_string(self.log_path)}; }} }}\n"
            'interfaces = { "127.0.0.1" }\n'
            'local_interfaces = { "127.0.0.1" }\n'
            f"c2s_ports = {{ {self.c2s_port} }}\n"
            f"s2s_ports = {{ {self.s2s_port} }}\n"
            "c2s_direct_tls_ports = { }\n"
            "s2s_direct_tls_ports = { }\n"
            "legacy_ssl_ports = { }\n"
            "component_ports = { }\n"
            "http_ports = { }\nhttps_ports = { }\n"
            'authentication = "internal_hashed"\n'
            "allow_registration = false\n"
            "c2s_require_encryption = true\n"
            f"s2s_secure_auth = {lua_bool[self.secure_auth]}\n"
            f"s2s_require_encryption = {lua_bool[self.require_encryption]}\n"
            "s2s_timeout = 10\n"
            f"ssl = {{ {' '.join(ssl)} }}\n"
            f"modules_enabled = {{ {', '.join(lua_string(m) for m in modules)} }}\n"
            f"parley_test_routes = {{\n{routes}}}\n"
            + self.extra_config + "\n"
            f"VirtualHost {lua_string(self.domain)}\n"
            + host_ssl + self.host_config + "\n")

    def write_config(self):
        with open(os.path.join(self.plugins, "mod_parley_test_routes.lua"), "w") as f:
            f.write(ROUTES_PLUGIN)
        with open(self.conf, "w") as f:
            f.write(self._config())

    def start(self, timeout=15):
        """Write the config and plugin and start Prosody in the foreground;
        returns once both ports answer (raises if it died or never did)."""
        self.write_config()
        self.proc = self.suite.start(self.name, [PROSODY, "--config", self.conf, "-F"])
        ok = wait_until(lambda: not self.proc.alive() or
                        (port_open(self.c2s_port) and port_open(self.s2s_port)), timeout)
        if not ok or not self.proc.alive():
            raise RuntimeError(f"{self.name} did not start:\n{self.proc.log()[-2000:]}\n"
                               f"{self.log()[-2000:]}")
        return self

    def register(self, user, password):
        """Make an account with prosodyctl (works with the server running or not)."""
        if not os.path.exists(self.conf):
            self.write_config()
        r = subprocess.run([PROSODYCTL, "--config", self.conf, "register", user, self.domain,
                            password], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"prosodyctl register {user}@{self.domain}: "
                               f"{r.stdout.strip()} {r.stderr.strip()}")

    def stop(self, timeout=5.0):
        """SIGTERM by PID (SIGKILL after timeout); returns the exit status."""
        if self.proc is None:
            return None
        return self.proc.stop(timeout)

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def log(self):
        """Prosody's own log (debug level), as text."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""
