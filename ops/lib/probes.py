"""Protocol-level probes: how the HOST checks that a service in a lab VM really answers.

A service definition's [probe] table (ops/services/<name>.toml) is turned into a Probe by
make_probe(spec, address, vm). The caller (ops/e2e) calls prepare() once, then check() in a loop
(each call is one request, about 2 s at most, raising ProbeFailed when the service did not answer
as expected), and close() at the end. Stdlib only; a few kinds drive the host's own clients
(psql, smbclient, nfs-cat, svn, openvpn, ping): host_packages() names their Debian packages.

No password ever reaches argv, a log or an exception message.
"""
import ftplib
import http.client
import http.server
import os
import random
import secrets
import shlex
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

TIMEOUT = 2.0  # seconds one check may take on the wire; the poller runs many of them


class ProbeFailed(Exception):
    """Why the service did not answer as expected (one line: the address and what was wrong)."""


_REQUIRED = object()


def _ipv4(kind, field, value):
    """value, when it is a dotted IPv4 address; else a ValueError naming the field."""
    try:
        if isinstance(value, str) and value.count(".") == 3 and socket.inet_aton(value):
            return value
    except OSError:
        pass
    raise ValueError(f"probe kind {kind!r}: field {field!r} must be an IPv4 address, not {value!r}")


def _port_list(kind, ports):
    """ports, when it is a non-empty list of port numbers; else a ValueError naming the field."""
    if (not isinstance(ports, list) or not ports
            or not all(isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in ports)):
        raise ValueError(f"probe kind {kind!r}: field 'ports' must be a non-empty list of ports, not {ports!r}")
    return ports


def _one_line(text, limit=400):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Probe:
    """Base class: reads its fields from the spec, rejecting unknown ones (a misspelt `expect`
    would otherwise silently turn a content check into a mere 'it answers')."""
    kind = "?"
    FIELDS = {}  # name -> default (or _REQUIRED)

    def __init__(self, spec, address, vm=None):
        unknown = sorted(set(spec) - set(self.FIELDS) - {"kind"})
        if unknown:
            raise ValueError(f"probe kind {self.kind!r}: unknown field {unknown[0]!r}"
                             f" (known: {', '.join(sorted(self.FIELDS))})")
        for name, default in self.FIELDS.items():
            if name in spec:
                value = spec[name]
            elif default is _REQUIRED:
                raise ValueError(f"probe kind {self.kind!r}: missing required field {name!r}")
            else:
                value = default
            setattr(self, name, value)
        self.address, self.vm = address, vm
        self._validate()

    NUMBERS = {"status", "version", "nfsport", "mountport"}  # the other fields but port(s) are strings

    def _validate(self):
        for name in self.FIELDS:
            value = getattr(self, name)
            if name == "port" or (name in ("nfsport", "mountport") and value is not None):
                if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
                    raise ValueError(f"probe kind {self.kind!r}: field {name!r} must be a port number, not {value!r}")
            elif name in self.NUMBERS:
                if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                    raise ValueError(f"probe kind {self.kind!r}: field {name!r} must be an integer, not {value!r}")
            elif name != "ports" and value is not None and not isinstance(value, str):
                raise ValueError(f"probe kind {self.kind!r}: field {name!r} must be a string, not {value!r}")

    def prepare(self):
        pass

    def check(self):
        raise NotImplementedError

    def close(self):
        pass

    def describe(self):
        return f"{self.kind} {self.address}"

    def __repr__(self):
        return f"<{type(self).__name__} {self.describe()}>"

    def _fail(self, what):
        raise ProbeFailed(_one_line(f"{self.describe()}: {what}"))


def wait_until_answers(probe, timeout, interval=1.0):
    """Asks the probe until it answers or timeout seconds pass: None when it answered, else its last failure."""
    deadline, last = time.time() + timeout, None
    while True:
        try:
            probe.check()
            return None
        except ProbeFailed as e:
            last = str(e)
        if time.time() > deadline:
            return last
        time.sleep(interval)


def _run(probe, argv, env=None, timeout=TIMEOUT + 0.5):
    """Runs a client; ProbeFailed when it is missing, times out or exits non-zero (with its stderr)."""
    try:
        res = subprocess.run(argv, env=env, timeout=timeout, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        probe._fail(f"{argv[0]} is not installed on this host")
    except subprocess.TimeoutExpired:
        probe._fail(f"no answer within {timeout:g} s ({argv[0]} timed out)")
    if res.returncode != 0:
        err = res.stderr.decode(errors="replace").strip() or res.stdout.decode(errors="replace").strip()
        probe._fail(f"{argv[0]} exited {res.returncode}: {err or 'no message'}")
    return res.stdout


def _expect_in(probe, body, what):
    if probe.expect is not None and probe.expect not in body:
        probe._fail(f"{what} does not contain {probe.expect!r}; got {body[:80]!r}")


# --- HTTP ---------------------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 301 is the answer to check, not a hop to follow."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _fetch(opener, url, headers=None):
    """GET url -> (status, body text); an HTTP error status is an answer, not an exception."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(req, timeout=TIMEOUT) as res:
            return res.status, res.read(1 << 20).decode(errors="replace")
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read(1 << 20).decode(errors="replace")


class HttpProbe(Probe):
    kind = "http"
    FIELDS = {"port": 80, "path": "/", "expect": None, "status": 200, "host_header": None}

    def __init__(self, spec, address, vm=None):
        super().__init__(spec, address, vm)
        # No proxy from the environment: the VM is asked directly.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
        self.url = f"http://{address}:{self.port}{self.path if self.path.startswith('/') else '/' + self.path}"

    def check(self):
        try:
            status, body = _fetch(self._opener, self.url, {"Host": self.host_header} if self.host_header else None)
        except Exception as e:
            self._fail(f"no answer: {e}")
        if status != self.status:
            self._fail(f"status {status}, expected {self.status}")
        _expect_in(self, body, "the body")

    def describe(self):
        host = f" Host: {self.host_header}" if self.host_header else ""
        return f"HTTP GET {self.url}{host} = {self.status}" + (f" with {self.expect!r}" if self.expect else "")


def host_address_towards(address):
    """The host's address as seen from `address` (the libvirt bridge address for a lab VM): the
    source address the kernel picks to reach it. A UDP connect sends nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((address, 9))
        return s.getsockname()[0]


class HttpProxyProbe(Probe):
    kind = "http-proxy"
    FIELDS = {"port": 3128, "url": _REQUIRED, "expect": None}

    def __init__(self, spec, address, vm=None):
        super().__init__(spec, address, vm)
        self.proxy = f"http://{address}:{self.port}"
        self.target = self.url.replace("{host}", host_address_towards(address)) if "{host}" in self.url else self.url
        if not self.target.startswith("http://"):
            raise ValueError(f"probe kind 'http-proxy': field 'url' must be an http:// URL, not {self.url!r}")

    def check(self):
        # http.client, not urllib: urllib would skip the proxy for any host in $no_proxy and then
        # fetch the origin directly, a pass that says nothing about the proxy.
        conn = http.client.HTTPConnection(self.address, self.port, timeout=TIMEOUT)
        try:
            conn.request("GET", self.target)  # absolute-form request target: a proxy request
            res = conn.getresponse()
            status, body = res.status, res.read(1 << 20).decode(errors="replace")
            error = res.getheader("X-Squid-Error")
        except Exception as e:
            self._fail(f"no answer: {type(e).__name__}: {e}")
        finally:
            conn.close()
        if status != 200:
            self._fail(f"status {status} through the proxy" + (f" ({error})" if error else ""))
        _expect_in(self, body, "the body")

    def describe(self):
        return f"HTTP GET {self.target} via proxy {self.proxy}" + (f" with {self.expect!r}" if self.expect else "")


class _TextHandler(http.server.BaseHTTPRequestHandler):
    text = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(self.text)))
        self.end_headers()
        self.wfile.write(self.text)

    def log_message(self, *args):  # quiet: the poller asks every 100 ms
        pass


def serve_http(text, bind_host, port=0):
    """Serves `text` to every GET on bind_host:port from a daemon thread -> (server, port).
    The origin an http-proxy probe fetches through the VM's proxy; stop it with server.shutdown()
    and server.server_close()."""
    handler = type("Handler", (_TextHandler,), {"text": text.encode()})
    server = http.server.ThreadingHTTPServer((bind_host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"serve_http:{server.server_port}", daemon=True).start()
    return server, server.server_port


# --- DNS ----------------------------------------------------------------------------------------

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def dns_query(name, qid):
    """A recursion-desired query for the A record of name (RFC 1035 4.1)."""
    qname = b"".join(bytes([len(label)]) + label for label in
                     (part.encode("idna") for part in name.rstrip(".").split(".")) if label) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1)


def _skip_name(msg, off):
    """Offset after the (possibly compressed) name at off."""
    while True:
        if off >= len(msg):
            raise ValueError("name runs past the message")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            return off + 2
        if n == 0:
            return off + 1
        off += 1 + n


def dns_answer(msg, qid):
    """(rcode, [IPv4 of each A record in the answer section]) of a response to query qid."""
    if len(msg) < 12:
        raise ValueError(f"short response ({len(msg)} bytes)")
    rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    if rid != qid or not flags & 0x8000:
        raise ValueError("not a response to our query")
    if flags & 0x0200:
        raise ValueError("truncated response")
    off = 12
    for _ in range(qd):
        off = _skip_name(msg, off) + 4
    addresses = []
    for _ in range(an):
        off = _skip_name(msg, off)
        if off + 10 > len(msg):
            raise ValueError("answer runs past the message")
        rtype, rclass, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        if off + rdlen > len(msg):
            raise ValueError("answer runs past the message")
        if rtype == 1 and rclass == 1 and rdlen == 4:
            addresses.append(socket.inet_ntoa(msg[off:off + 4]))
        off += rdlen
    return flags & 0x000F, addresses


class DnsProbe(Probe):
    kind = "dns"
    FIELDS = {"port": 53, "name": _REQUIRED, "expect": _REQUIRED, "protocol": "udp"}

    def _validate(self):
        super()._validate()
        if self.protocol not in ("udp", "tcp"):
            raise ValueError(f"probe kind 'dns': field 'protocol' must be udp or tcp, not {self.protocol!r}")
        _ipv4(self.kind, "expect", self.expect)

    def _exchange(self, query):
        if self.protocol == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(TIMEOUT)
                s.connect((self.address, self.port))  # replies from elsewhere are dropped by the kernel
                s.send(query)
                return s.recv(4096)
        with socket.create_connection((self.address, self.port), timeout=TIMEOUT) as s:
            s.sendall(struct.pack(">H", len(query)) + query)
            data = b""
            while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
                chunk = s.recv(65537)
                if not chunk:
                    raise ConnectionError("connection closed mid-answer")
                data += chunk
            return data[2:2 + struct.unpack(">H", data[:2])[0]]

    def check(self):
        qid = random.randrange(1 << 16)
        try:
            rcode, addresses = dns_answer(self._exchange(dns_query(self.name, qid)), qid)
        except Exception as e:
            self._fail(f"no valid answer: {type(e).__name__}: {e}")
        if rcode != 0:
            self._fail(f"rcode {RCODES.get(rcode, rcode)}")
        if self.expect not in addresses:
            self._fail(f"A records {addresses or 'none'}")

    def describe(self):
        return f"DNS A {self.name} @{self.address}:{self.port}{'/tcp' if self.protocol == 'tcp' else ''} = {self.expect}"


# --- TCP ----------------------------------------------------------------------------------------

class TcpProbe(Probe):
    kind = "tcp"
    FIELDS = {"ports": _REQUIRED}

    def _validate(self):
        _port_list(self.kind, self.ports)

    def check(self):
        deadline = time.monotonic() + TIMEOUT  # all ports within one check's time
        for port in self.ports:
            try:
                socket.create_connection((self.address, port), timeout=max(0.1, deadline - time.monotonic())).close()
            except OSError as e:
                self._fail(f"port {port}: {e}")

    def describe(self):
        return f"TCP connect {self.address} ports {','.join(map(str, self.ports))}"


# --- inside the guest, through SSH --------------------------------------------------------------

class GuestProbe(Probe):
    """For a service nothing outside the VM can reach (it listens on the guest's loopback only, or on
    no TCP port at all): through SSH, a TCP connect to 127.0.0.1 on its ports, else `systemctl
    is-active` of its units. Its downtime includes the guest's SSH being down (the VM's shutdown and
    boot); a check reuses one SSH connection (vm.ssh(..., persist=True)) and comes at most once a
    second (each starts a shell in the guest: polled every 100 ms it would load a TCG guest), so
    polling costs the guest little and the outages it sees are precise to about a second."""
    kind = "guest"
    FIELDS = {"ports": None, "units": None}
    INTERVAL = 1.0
    _last = 0.0

    def _validate(self):
        if self.ports is not None:
            _port_list(self.kind, self.ports)
        if self.units is not None and (not isinstance(self.units, list) or not self.units or not all(
                isinstance(u, str) and u and not u.startswith("-") and u.isprintable() and " " not in u for u in self.units)):
            raise ValueError(f"probe kind 'guest': field 'units' must be a non-empty list of unit names, not {self.units!r}")
        if not self.ports and not self.units:
            raise ValueError("probe kind 'guest': needs 'ports' or 'units'")

    def command(self):
        if self.ports:  # bash's /dev/tcp: no client needed in the guest
            return " && ".join(f"timeout {TIMEOUT:g} bash -c 'exec 3<>/dev/tcp/127.0.0.1/{p}' 2>/dev/null"
                               f" || {{ echo 'port {p}: refused or no answer'; exit 1; }}" for p in self.ports)
        return "systemctl is-active " + " ".join(shlex.quote(u) for u in self.units)

    def check(self):
        if self.vm is None:
            self._fail("no VM to reach (probe kind 'guest' runs through its SSH)")
        time.sleep(max(0.0, self._last + self.INTERVAL - time.monotonic()))
        self._last = time.monotonic()
        try:
            res = self.vm.ssh(self.command(), check=False, timeout=TIMEOUT + 2, persist=True)
        except subprocess.TimeoutExpired:
            self._fail("the guest's SSH did not answer in time")
        if res.returncode == 255:
            self._fail(f"the guest's SSH did not answer: {(res.stderr or '').strip() or 'no message'}")
        if res.returncode != 0:
            self._fail((res.stdout or "").strip() or f"exit {res.returncode}")

    def describe(self):
        what = (f"TCP connect 127.0.0.1 ports {','.join(map(str, self.ports))}" if self.ports
                else f"systemctl is-active {' '.join(self.units)}")
        return f"in the guest {self.address} through SSH: {what}"


# --- PostgreSQL ---------------------------------------------------------------------------------

def _conninfo_value(value):
    """A libpq connection-string value, quoted (a database or user name may hold spaces or quotes)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


class SqlProbe(Probe):
    kind = "sql"
    FIELDS = {"port": 5432, "database": _REQUIRED, "user": _REQUIRED, "password": _REQUIRED,
              "query": _REQUIRED, "expect": _REQUIRED}

    def _validate(self):
        if isinstance(self.expect, int) and not isinstance(self.expect, bool):
            self.expect = str(self.expect)  # expect = 42 in TOML means psql's "42"
        super()._validate()

    def check(self):
        # The password only in the environment; no PG* variable of ours (service files, ssl
        # settings) may change whom we ask.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGPASSWORD=self.password, PGCONNECT_TIMEOUT="2", PGAPPNAME="sp-probe")
        conninfo = " ".join(f"{k}={_conninfo_value(v)}" for k, v in
                            (("host", self.address), ("port", self.port), ("dbname", self.database),
                             ("user", self.user), ("connect_timeout", 2)))
        out = _run(self, ["psql", "-XtAq", "-F", "\x1f", "-d", conninfo, "-c", self.query], env=env)
        first = out.decode(errors="replace").split("\n", 1)[0].split("\x1f", 1)[0]
        if first != str(self.expect):
            self._fail(f"first value {first!r}, expected {self.expect!r}")

    def describe(self):
        return f"SQL {self.query!r} on {self.user}@{self.address}:{self.port}/{self.database} = {self.expect!r}"


# --- SMB ----------------------------------------------------------------------------------------

class SmbProbe(Probe):
    kind = "smb"
    FIELDS = {"port": 445, "share": _REQUIRED, "path": _REQUIRED, "expect": _REQUIRED,
              "user": None, "password": None}

    def check(self):
        argv = ["smbclient", f"//{self.address}/{self.share}", "-p", str(self.port), "-t", str(int(TIMEOUT)),
                "-c", f'get "{self.path}" -']
        if self.user is None:
            argv += ["-N", "-U", "guest%"]  # anonymous: the server maps the unknown user to its guest
            out = _run(self, argv)
        else:
            # credentials in a 0600 authentication file, never on the command line
            fd, auth = tempfile.mkstemp(prefix="sp-smb-auth-")
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(f"username = {self.user}\npassword = {self.password or ''}\n")
                out = _run(self, argv + ["-A", auth])
            finally:
                os.unlink(auth)
        _expect_in(self, out.decode(errors="replace"), "the file")

    def describe(self):
        who = self.user or "guest"
        return f"SMB get //{self.address}:{self.port}/{self.share}/{self.path.lstrip('/')} as {who} with {self.expect!r}"


# --- NFS ----------------------------------------------------------------------------------------

class NfsProbe(Probe):
    kind = "nfs"
    # version / nfsport / mountport: libnfs URL arguments, for servers without a portmapper
    FIELDS = {"export": _REQUIRED, "path": _REQUIRED, "expect": _REQUIRED,
              "version": None, "nfsport": None, "mountport": None}

    def __init__(self, spec, address, vm=None):
        super().__init__(spec, address, vm)
        args = "&".join(f"{k}={getattr(self, k)}" for k in ("version", "nfsport", "mountport") if getattr(self, k))
        self.url = f"nfs://{address}/{self.export.strip('/')}/{self.path.lstrip('/')}" + (f"?{args}" if args else "")

    def check(self):
        _expect_in(self, _run(self, ["nfs-cat", self.url]).decode(errors="replace"), "the file")

    def describe(self):
        return f"NFS read {self.url} with {self.expect!r}"


# --- FTP ----------------------------------------------------------------------------------------

class FtpProbe(Probe):
    kind = "ftp"
    FIELDS = {"port": 21, "path": _REQUIRED, "expect": _REQUIRED, "user": "anonymous", "password": ""}

    def check(self):
        chunks = []
        try:
            with ftplib.FTP(timeout=TIMEOUT) as ftp:
                ftp.connect(self.address, self.port)
                ftp.login(self.user, self.password)
                ftp.set_pasv(True)  # the data address is the control one (ftplib ignores the PASV host)
                ftp.retrbinary(f"RETR {self.path}", chunks.append)
        except Exception as e:
            self._fail(f"{type(e).__name__}: {e}")
        _expect_in(self, b"".join(chunks).decode(errors="replace"), "the file")

    def describe(self):
        return f"FTP RETR ftp://{self.user}@{self.address}:{self.port}/{self.path.lstrip('/')} with {self.expect!r}"


# --- Subversion ---------------------------------------------------------------------------------

class SvnProbe(Probe):
    kind = "svn"
    FIELDS = {"port": 3690, "url_path": _REQUIRED, "expect": _REQUIRED}

    def __init__(self, spec, address, vm=None):
        super().__init__(spec, address, vm)
        self.url = f"svn://{address}:{self.port}/{self.url_path.lstrip('/')}"
        self._config = None

    def check(self):
        if self._config is None:  # our own empty config: no user's settings or credential cache
            self._config = tempfile.mkdtemp(prefix="sp-svn-config-")
        out = _run(self, ["svn", "cat", "--non-interactive", "--no-auth-cache", "--config-dir", self._config, self.url])
        _expect_in(self, out.decode(errors="replace"), "the file")

    def close(self):
        if self._config:
            subprocess.run(["rm", "-rf", self._config])
            self._config = None

    def describe(self):
        return f"SVN cat {self.url} with {self.expect!r}"


# --- OpenVPN ------------------------------------------------------------------------------------

# Directives of the guest's client config that we set ourselves (or that would fork, log elsewhere
# or change the host's routes).
_VPN_OURS = {"remote", "dev", "dev-type", "proto", "port", "rport", "ping", "ping-restart", "ping-exit",
             "persist-tun", "daemon", "log", "log-append", "writepid", "status", "management",
             "redirect-gateway", "route", "route-nopull", "connect-retry", "connect-retry-max",
             "resolv-retry", "up", "down", "script-security", "lport", "nobind", "bind"}


class VpnProbe(Probe):
    kind = "vpn"
    FIELDS = {"port": 1194, "proto": "udp", "peer": _REQUIRED, "client_config": _REQUIRED}
    UP_WAIT = 30.0

    def __init__(self, spec, address, vm=None):
        super().__init__(spec, address, vm)
        self.dev = f"tun-sp{secrets.token_hex(3)}"  # 12 characters: under IFNAMSIZ
        self._proc = self._dir = None

    def _validate(self):
        super()._validate()
        if self.proto not in ("udp", "tcp"):
            raise ValueError(f"probe kind 'vpn': field 'proto' must be udp or tcp, not {self.proto!r}")
        _ipv4(self.kind, "peer", self.peer)

    def make_client_config(self, guest_config):
        """The guest's inline client config, made ours: remote, our device, keep-alive and restart
        (so the client comes back by itself when the server does: downtime = the server's), no
        pushed routes (the host's own routing stays as it is)."""
        kept = []
        inline = False
        for line in guest_config.splitlines():
            word = line.strip().split(None, 1)[0] if line.strip() else ""
            if word.startswith("<") and not word.startswith("</"):
                inline = True
            elif word.startswith("</"):
                inline = False
            elif not inline and word.lstrip("-") in _VPN_OURS:
                continue
            kept.append(line)
        ours = [
            "# added by the host's probe (ops/lib/probes.py)",
            f"remote {self.address} {self.port} {self.proto}",
            f"dev {self.dev}",
            "nobind",
            "persist-tun",            # the device outlives a reconnect: the same -I works afterwards
            "ping 1",
            "ping-restart 5",         # a restarted server is found again within seconds
            "connect-retry 1 1",
            "resolv-retry infinite",
            "route-nopull",
            "pull-filter ignore redirect-gateway",
            "pull-filter ignore ping",  # the server's pushed keepalive would replace ours ("ping", "ping-restart")
            "script-security 1",
            "verb 3",
        ]
        return "\n".join(kept + ours) + "\n"

    def prepare(self):
        if self.vm is None:
            raise ValueError("probe kind 'vpn' needs the VM (to fetch its client config)")
        self.close()  # a second prepare() starts afresh
        try:
            guest = self.vm.ssh(f"cat {shlex.quote(self.client_config)}").stdout
        except Exception as e:
            raise ProbeFailed(_one_line(f"{self.describe()}: cannot read {self.client_config} in the guest: {e}")) from e
        self._dir = tempfile.mkdtemp(prefix="sp-vpn-")  # 0700; the config holds the client key
        conf, self._log = os.path.join(self._dir, "client.conf"), os.path.join(self._dir, "openvpn.log")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.make_client_config(guest))
        log = open(self._log, "wb")
        try:
            self._proc = subprocess.Popen(["openvpn", "--config", conf], stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + self.UP_WAIT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                why = f"openvpn exited {self._proc.returncode}: {self._log_tail()}"
                self.close()
                raise ProbeFailed(_one_line(f"{self.describe()}: {why}"))
            if "Initialization Sequence Completed" in self._read_log():
                return
            time.sleep(0.2)
        tail = self._log_tail()
        self.close()
        raise ProbeFailed(_one_line(f"{self.describe()}: the tunnel did not come up within {self.UP_WAIT:g} s: {tail}"))

    def _read_log(self):
        try:
            with open(self._log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _log_tail(self):
        lines = [ln for ln in self._read_log().splitlines() if ln.strip()]
        return " | ".join(lines[-3:]) or "no output"

    def check(self):
        if self._proc is None:
            self._fail("not prepared (no tunnel)")
        if self._proc.poll() is not None:
            self._fail(f"openvpn exited {self._proc.returncode}: {self._log_tail()}")
        try:
            res = subprocess.run(["ping", "-n", "-q", "-c1", "-W1", "-I", self.dev, self.peer], timeout=TIMEOUT + 1,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except FileNotFoundError:
            self._fail("ping is not installed on this host")
        except subprocess.TimeoutExpired:
            self._fail("ping timed out")
        if res.returncode != 0:
            out = res.stdout.decode(errors="replace").strip().splitlines()
            self._fail(f"no echo reply ({out[-1] if out else 'ping exited ' + str(res.returncode)})")

    def close(self):
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._dir:
            subprocess.run(["rm", "-rf", self._dir])
            self._dir = None

    def describe(self):
        return f"VPN {self.proto} {self.address}:{self.port} ({self.dev}) ping {self.peer}"


# --- factory ------------------------------------------------------------------------------------

KINDS = {c.kind: c for c in (HttpProbe, HttpProxyProbe, DnsProbe, TcpProbe, GuestProbe, SqlProbe, SmbProbe,
                             NfsProbe, FtpProbe, SvnProbe, VpnProbe)}

# The Debian packages the host needs for each kind (the others use only Python).
HOST_PACKAGES = {"sql": ["postgresql-client"], "smb": ["smbclient"], "nfs": ["libnfs-utils"],
                 "svn": ["subversion"], "vpn": ["openvpn", "iputils-ping"]}


def make_probe(spec, address, vm=None):
    """The probe a definition's [probe] table describes, for the VM at address (IPv4)."""
    if not isinstance(spec, dict):
        raise ValueError(f"probe: expected a table, got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind is None:
        raise ValueError("probe: missing required field 'kind'")
    if kind not in KINDS:
        raise ValueError(f"probe: unknown kind {kind!r} in field 'kind' (known: {', '.join(sorted(KINDS))})")
    _ipv4(kind, "address", address)
    return KINDS[kind](spec, address, vm)


def host_packages(kinds):
    """The Debian packages the host needs to run probes of these kinds, sorted, each once."""
    packages = set()
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"probe: unknown kind {kind!r}")
        packages.update(HOST_PACKAGES.get(kind, ()))
    return sorted(packages)
