"""Tests of probes.py against real servers started here on 127.0.0.1 and high ports (as root).

    cd ops/lib && python3 -m unittest test_probes -v

A server whose program is not installed is skipped with the reason, never failed. The Debian
packages that let every test run: bind9 squid vsftpd subversion smbclient samba nfs-ganesha
nfs-ganesha-vfs libnfs-utils openvpn iputils-ping iproute2 openssl postgresql postgresql-client.
Each server test asserts: the right answer passes, a wrong expectation fails, and a stopped server
fails within 3 s.
"""
import glob
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from unittest import mock

import probes
from probes import ProbeFailed, make_probe

LO = "127.0.0.1"


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((LO, 0))
        return s.getsockname()[1]


def need(*programs):
    missing = [p for p in programs if shutil.which(p) is None and not os.path.exists(p)]
    if missing:
        raise unittest.SkipTest(f"not installed here: {', '.join(missing)}")
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root")


def wait_tcp(port, proc=None, timeout=15.0, what="server"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what} exited {proc.returncode} before listening on {port}")
        try:
            socket.create_connection((LO, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{what} does not listen on {LO}:{port} after {timeout} s")


class ServerTest(unittest.TestCase):
    """Starts server programs in a temp dir of the test; kill() stops one (idempotent), cleanup all."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix=f"sp-probe-{self._testMethodName}-")
        os.chmod(self.dir, 0o755)  # the servers' unprivileged users (ftp, nobody, proxy) read under it
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, text, mode=0o644):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def start(self, argv, **kw):
        log = open(self.path(f"{os.path.basename(argv[0])}.log"), "ab")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, **kw)
        log.close()
        self.addCleanup(self.kill, proc)
        return proc

    def kill(self, proc, sig=signal.SIGKILL):
        if proc.poll() is None:
            os.killpg(proc.pid, sig)  # the whole group: smbd and named fork or thread helpers
        proc.wait(10)

    def server_log(self, name):
        try:
            with open(self.path(f"{name}.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def exercise(self, spec, wrong, stop, address=LO, vm=None, secret=None):
        """The right answer passes; `wrong` fields make it fail; after stop() it fails within 3 s."""
        probe = make_probe(spec, address, vm)
        self.addCleanup(probe.close)
        probe.prepare()
        probe.check()
        self.assertIn(address, probe.describe())
        bad = make_probe(dict(spec, **wrong), address, vm)
        self.addCleanup(bad.close)
        bad.prepare()
        with self.assertRaises(ProbeFailed) as cm:
            bad.check()
        self.assertIn(address, str(cm.exception))
        stop()
        start = time.monotonic()
        with self.assertRaises(ProbeFailed) as cm:
            probe.check()
        self.assertLess(time.monotonic() - start, 3.0, str(cm.exception))
        self.assertIn(address, str(cm.exception))
        if secret:
            self.assertNotIn(secret, str(cm.exception))
        return probe


class HttpTest(ServerTest):
    def test_http(self):
        server, port = probes.serve_http("hello from the lab", LO)
        self.addCleanup(server.server_close)
        spec = {"kind": "http", "port": port, "path": "/index.html", "expect": "from the lab"}

        def stop():
            server.shutdown()
            server.server_close()
        self.exercise(spec, {"expect": "from elsewhere"}, stop)

    def test_status_and_host_header(self):
        import http.server

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                code = 200 if self.headers["Host"] == "www.lab.test" else 404
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        server = http.server.ThreadingHTTPServer((LO, 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        port = server.server_port
        make_probe({"kind": "http", "port": port, "host_header": "www.lab.test"}, LO).check()
        make_probe({"kind": "http", "port": port, "status": 404}, LO).check()  # an error status is an answer
        with self.assertRaisesRegex(ProbeFailed, "status 404, expected 200"):
            make_probe({"kind": "http", "port": port}, LO).check()


class HttpProxyTest(ServerTest):
    def test_squid(self):
        need("/usr/sbin/squid")
        origin, origin_port = probes.serve_http("origin says hi", LO)
        self.addCleanup(origin.server_close)
        self.addCleanup(origin.shutdown)
        port = free_port()
        try:
            shutil.chown(self.dir, "proxy")  # squid drops to user proxy and writes its cache log here
        except LookupError:
            pass
        conf = self.write("squid.conf", f"""
http_port {LO}:{port}
http_access allow all
cache deny all
cache_mem 8 MB
pid_filename none
access_log none
cache_log {self.path('cache.log')}
coredump_dir {self.dir}
shutdown_lifetime 0 seconds
dns_nameservers {LO}
""")
        proc = self.start(["/usr/sbin/squid", "-N", "-f", conf])
        wait_tcp(port, proc, what="squid")
        spec = {"kind": "http-proxy", "port": port, "url": f"http://{{host}}:{origin_port}/probe", "expect": "says hi"}
        with self.assertRaisesRegex(ProbeFailed, "status 503 through the proxy"):  # an origin nobody serves
            make_probe(dict(spec, url=f"http://{{host}}:{free_port()}/"), LO).check()
        # the origin stays up: a failure once squid is stopped shows the probe asked squid
        probe = self.exercise(spec, {"expect": "says bye"}, lambda: self.kill(proc))
        self.assertIn(f"http://{LO}:{origin_port}/probe", probe.describe())  # {host} is the host seen from 127.0.0.1

    def test_no_proxy_environment_is_ignored(self):
        origin, origin_port = probes.serve_http("direct", LO)
        self.addCleanup(origin.server_close)
        self.addCleanup(origin.shutdown)
        spec = {"kind": "http-proxy", "port": free_port(), "url": f"http://{LO}:{origin_port}/"}
        with mock.patch.dict(os.environ, {"no_proxy": "*", "NO_PROXY": "*"}), self.assertRaises(ProbeFailed):
            make_probe(spec, LO).check()  # no proxy listens: the origin must not be fetched directly

    def test_host_address_towards(self):
        self.assertEqual(probes.host_address_towards(LO), LO)


class DnsTest(ServerTest):
    def test_named(self):
        need("/usr/sbin/named")
        port = free_port()
        zone = self.write("lab.test.zone", """$TTL 60
@     IN SOA ns.lab.test. admin.lab.test. 1 60 60 60 60
@     IN NS ns.lab.test.
ns    IN A 127.0.0.1
www   IN A 192.0.2.80
www   IN A 192.0.2.81
alias IN CNAME www
""")
        conf = self.write("named.conf", f"""
options {{ directory "{self.dir}"; listen-on port {port} {{ {LO}; }}; listen-on-v6 {{ none; }};
  pid-file "{self.path('named.pid')}"; session-keyfile "{self.path('session.key')}";
  recursion no; dnssec-validation no; }};
controls {{ }};
zone "lab.test" {{ type primary; file "{zone}"; }};
""")
        proc = self.start(["/usr/sbin/named", "-g", "-n", "1", "-c", conf])
        wait_tcp(port, proc, what="named")
        for name in ("www.lab.test", "alias.lab.test."):  # a CNAME's target answers too
            for protocol in ("udp", "tcp"):
                make_probe({"kind": "dns", "port": port, "name": name, "expect": "192.0.2.81",
                            "protocol": protocol}, LO).check()
        with self.assertRaisesRegex(ProbeFailed, "NXDOMAIN"):
            make_probe({"kind": "dns", "port": port, "name": "nope.lab.test", "expect": "192.0.2.80"}, LO).check()
        spec = {"kind": "dns", "port": port, "name": "www.lab.test", "expect": "192.0.2.80"}
        probe = self.exercise(spec, {"expect": "192.0.2.99"}, lambda: self.kill(proc))
        self.assertEqual(probe.describe(), f"DNS A www.lab.test @{LO}:{port} = 192.0.2.80")

    def test_packet(self):
        query = probes.dns_query("www.lab.test", 0x1234)
        self.assertEqual(query[12:], b"\x03www\x03lab\x04test\x00\x00\x01\x00\x01")
        # a response: the question, then a compressed CNAME and a compressed A record
        answer = (bytes.fromhex("1234 8180 0001 0002 0000 0000") + query[12:]
                  + bytes.fromhex("c00c 0005 0001 0000003c 0002") + b"\xc0\x10"
                  + bytes.fromhex("c010 0001 0001 0000003c 0004 c0000250"))
        self.assertEqual(probes.dns_answer(answer, 0x1234), (0, ["192.0.2.80"]))
        with self.assertRaises(ValueError):
            probes.dns_answer(answer, 0x4321)
        with self.assertRaises(ValueError):
            probes.dns_answer(answer[:-3], 0x1234)


class TcpTest(ServerTest):
    def test_ports(self):
        listeners = []
        for _ in range(2):
            s = socket.socket()
            s.bind((LO, 0))
            s.listen()
            listeners.append(s)
            self.addCleanup(s.close)
        ports = [s.getsockname()[1] for s in listeners]
        spec = {"kind": "tcp", "ports": ports}
        probe = self.exercise(spec, {"ports": ports + [free_port()]}, listeners[1].close)
        self.assertEqual(probe.describe(), f"TCP connect {LO} ports {ports[0]},{ports[1]}")


class GuestTest(ServerTest):
    """Probe kind 'guest': the commands run by bash here stand in for the guest's SSH."""

    class Guest:
        def __init__(self, exit_code=None):
            self.exit_code, self.commands = exit_code, []

        def ssh(self, command, check=True, timeout=600, persist=False):
            assert persist and not check, "a probe polls over one shared connection and reads the exit code"
            self.commands.append(command)
            if self.exit_code is not None:
                return subprocess.CompletedProcess(command, self.exit_code, "", "ssh: connect to host: No route to host")
            return subprocess.run(["bash", "-c", command], text=True, capture_output=True, timeout=timeout)

    def test_loopback_ports(self):
        listener = socket.socket()
        listener.bind((LO, 0))
        listener.listen()
        self.addCleanup(listener.close)
        port = listener.getsockname()[1]
        probe = self.exercise({"kind": "guest", "ports": [port]}, {"ports": [port, free_port()]}, listener.close,
                              vm=self.Guest())
        self.assertIn(f"TCP connect 127.0.0.1 ports {port}", probe.describe())

    def test_ssh_down_and_units(self):
        down = make_probe({"kind": "guest", "ports": [22]}, LO, self.Guest(exit_code=255))
        with self.assertRaises(ProbeFailed) as cm:
            down.check()
        self.assertIn("SSH did not answer", str(cm.exception))
        guest = self.Guest(exit_code=3)
        probe = make_probe({"kind": "guest", "units": ["chrony", "x@y"]}, LO, guest)
        with self.assertRaises(ProbeFailed):
            probe.check()
        self.assertEqual(["systemctl is-active chrony x@y"], guest.commands)
        for bad in ({"kind": "guest"}, {"kind": "guest", "units": ["a b"]}, {"kind": "guest", "ports": []}):
            with self.assertRaises(ValueError):
                make_probe(bad, LO, guest)
        with self.assertRaises(ProbeFailed):
            make_probe({"kind": "guest", "units": ["chrony"]}, LO).check()  # no VM


class SqlTest(ServerTest):
    def test_postgresql(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
        if not bins:
            raise unittest.SkipTest("no PostgreSQL server here (/usr/lib/postgresql/*/bin)")
        need("psql", bins[-1] + "/initdb")
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise unittest.SkipTest("no postgres user") from None
        shutil.chown(self.dir, "postgres")
        port, data = free_port(), self.path("data")

        def as_postgres(*argv):
            subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

        as_postgres(bins[-1] + "/initdb", "-D", data, "-U", "postgres", "-A", "trust",
                    "--auth-host=scram-sha-256", "--no-sync")
        opts = f"-p {port} -k {self.dir} -c listen_addresses={LO} -c fsync=off"
        as_postgres(bins[-1] + "/pg_ctl", "-D", data, "-l", self.path("postgres.log"), "-w", "-o", opts, "start")
        stopped = []

        def stop():
            if not stopped:
                as_postgres(bins[-1] + "/pg_ctl", "-D", data, "-m", "immediate", "stop")
                stopped.append(True)
        self.addCleanup(stop)
        secret = "S3cret 'pw'!"
        subprocess.run(["psql", "-XqAt", "-h", self.dir, "-p", str(port), "-U", "postgres",
                        "-c", "create role probe login password 'S3cret ''pw''!'", "-c", "create database \"lab db\" owner probe"],
                       check=True, stdout=subprocess.DEVNULL)
        spec = {"kind": "sql", "port": port, "database": "lab db", "user": "probe", "password": secret,
                "query": "select 40 + 2, 'second column'", "expect": "42"}
        with self.assertRaisesRegex(ProbeFailed, "password authentication failed") as cm:
            make_probe(dict(spec, password="wr0ng-xyzzy"), LO).check()
        self.assertNotIn("xyzzy", str(cm.exception))
        self.exercise(spec, {"expect": "43"}, stop, secret=secret)

    def test_password_only_in_environment(self):
        probe = make_probe({"kind": "sql", "database": "d", "user": "u", "password": "pw-xyzzy",
                            "query": "select 1", "expect": "1"}, "192.0.2.5")
        with mock.patch("subprocess.run", return_value=subprocess.CompletedProcess([], 0, b"1\n", b"")) as run:
            probe.check()
        argv, env = run.call_args.args[0], run.call_args.kwargs["env"]
        self.assertFalse(any("pw-xyzzy" in a for a in argv), argv)
        self.assertEqual(env["PGPASSWORD"], "pw-xyzzy")
        self.assertIn("-XtAq", argv)


class FtpTest(ServerTest):
    def test_vsftpd(self):
        need("/usr/sbin/vsftpd")
        try:
            pwd.getpwnam("ftp")
        except KeyError:
            raise unittest.SkipTest("no ftp user (vsftpd's package makes it)") from None
        port = free_port()
        self.write("root/pub/hello.txt", "ftp says hello\n")
        os.makedirs(self.path("empty"))
        conf = self.write("vsftpd.conf", f"""listen=YES
listen_ipv6=NO
listen_address={LO}
listen_port={port}
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root={self.path('root')}
local_enable=NO
write_enable=NO
secure_chroot_dir={self.path('empty')}
pasv_enable=YES
seccomp_sandbox=NO
xferlog_enable=NO
""", mode=0o600)
        proc = self.start(["/usr/sbin/vsftpd", conf])
        wait_tcp(port, proc, what="vsftpd")
        with self.assertRaisesRegex(ProbeFailed, "550"):
            make_probe({"kind": "ftp", "port": port, "path": "/pub/missing.txt", "expect": "x"}, LO).check()
        spec = {"kind": "ftp", "port": port, "path": "/pub/hello.txt", "expect": "says hello"}
        self.exercise(spec, {"expect": "says goodbye"}, lambda: self.kill(proc))


class SvnTest(ServerTest):
    def test_svnserve(self):
        need("svn", "svnadmin", "svnserve")
        port = free_port()
        subprocess.run(["svnadmin", "create", self.path("repo")], check=True)
        readme = self.write("src/README", "svn readme, first revision\n")
        subprocess.run(["svn", "import", "-q", "--config-dir", self.path("config"), "-m", "init", readme,
                        f"file://{self.path('repo')}/README"], check=True)
        proc = self.start(["svnserve", "-d", "--foreground", "-r", self.dir, "--listen-host", LO,
                           "--listen-port", str(port)])
        wait_tcp(port, proc, what="svnserve")
        spec = {"kind": "svn", "port": port, "url_path": "/repo/README", "expect": "first revision"}
        probe = self.exercise(spec, {"expect": "second revision"}, lambda: self.kill(proc))
        config = probe._config
        probe.close()
        self.assertFalse(os.path.exists(config))


class SmbTest(ServerTest):
    def test_smbd(self):
        need("/usr/sbin/smbd", "smbclient", "smbpasswd")
        port = free_port()
        self.write("share/hello.txt", "smb says hello\n")
        for d in ("state", "private", "lock", "cache", "pid", "ncalrpc"):
            os.makedirs(self.path(d))
        conf = self.write("smb.conf", f"""[global]
  server role = standalone server
  smb ports = {port}
  interfaces = {LO}
  bind interfaces only = yes
  disable netbios = yes
  map to guest = bad user
  guest account = nobody
  lock directory = {self.path('lock')}
  state directory = {self.path('state')}
  cache directory = {self.path('cache')}
  private dir = {self.path('private')}
  pid directory = {self.path('pid')}
  ncalrpc dir = {self.path('ncalrpc')}
  passdb backend = tdbsam:{self.path('private', 'passdb.tdb')}
  log file = {self.path('smbd-%m.log')}
  load printers = no
  printcap name = /dev/null
  disable spoolss = yes
[pub]
  path = {self.path('share')}
  guest ok = yes
  read only = yes
[priv]
  path = {self.path('share')}
  valid users = root
  read only = yes
""")
        secret = "Pw0rd x!"
        subprocess.run(["smbpasswd", "-c", conf, "-s", "-a", "root"], input=f"{secret}\n{secret}\n", text=True,
                       check=True, stdout=subprocess.DEVNULL)
        proc = self.start(["/usr/sbin/smbd", "--foreground", "--no-process-group", "--debug-stdout", "-s", conf])
        wait_tcp(port, proc, what="smbd")
        with self.assertRaisesRegex(ProbeFailed, "ACCESS_DENIED"):  # the guest may not read priv
            make_probe({"kind": "smb", "port": port, "share": "priv", "path": "hello.txt", "expect": "x"}, LO).check()
        with self.assertRaisesRegex(ProbeFailed, "LOGON_FAILURE"):
            make_probe({"kind": "smb", "port": port, "share": "priv", "path": "hello.txt", "expect": "x",
                        "user": "root", "password": "wrong"}, LO).check()
        make_probe({"kind": "smb", "port": port, "share": "pub", "path": "hello.txt", "expect": "says hello"}, LO).check()
        spec = {"kind": "smb", "port": port, "share": "priv", "path": "/hello.txt", "expect": "says hello",
                "user": "root", "password": secret}
        self.exercise(spec, {"expect": "says goodbye"}, lambda: self.kill(proc), secret=secret)

    def test_credentials_in_a_private_file(self):
        probe = make_probe({"kind": "smb", "share": "s", "path": "f", "expect": "x", "user": "u",
                            "password": "pw-xyzzy"}, "192.0.2.5")
        seen = {}

        def fake_run(argv, **kw):
            auth = argv[argv.index("-A") + 1]
            with open(auth) as f:
                seen.update(argv=argv, auth=auth, mode=os.stat(auth).st_mode & 0o777, text=f.read())
            return subprocess.CompletedProcess(argv, 0, b"x", b"")

        with mock.patch("subprocess.run", fake_run):
            probe.check()
        self.assertFalse(any("pw-xyzzy" in a for a in seen["argv"]), seen["argv"])
        self.assertEqual(seen["mode"], 0o600)
        self.assertIn("password = pw-xyzzy", seen["text"])
        self.assertFalse(os.path.exists(seen["auth"]))


class NfsTest(ServerTest):
    """NFS-Ganesha, a user-space NFS server (no kernel nfsd here), serving NFSv4 on a high port:
    libnfs reaches it with ?version=4&nfsport=PORT, no portmapper needed."""

    def test_ganesha(self):
        need("/usr/bin/ganesha.nfsd", "nfs-cat")
        if not glob.glob("/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs*") + glob.glob("/usr/lib/*/ganesha/libfsalvfs*"):
            raise unittest.SkipTest("NFS-Ganesha's VFS backend (nfs-ganesha-vfs) is not installed")
        port = free_port()
        self.write("srv/docs/hello.txt", "nfs says hello\n")
        os.makedirs(self.path("recovery"))
        conf = self.write("ganesha.conf", f"""
NFS_CORE_PARAM {{ NFS_Port = {port}; Protocols = 4; Enable_NLM = false; Enable_RQUOTA = false; Bind_addr = {LO}; }}
NFSV4 {{ Graceless = true; RecoveryRoot = {self.path('recovery')}; }}
EXPORT {{
  Export_Id = 1; Path = {self.path('srv')}; Pseudo = /srv/nfs; Access_Type = RO; Squash = No_Root_Squash;
  SecType = sys; Protocols = 4; Transports = TCP;
  FSAL {{ Name = VFS; }}
}}
""")
        proc = self.start(["/usr/bin/ganesha.nfsd", "-F", "-L", self.path("ganesha.nfsd.log"), "-f", conf,
                           "-p", self.path("ganesha.pid"), "-N", "NIV_EVENT"])
        wait_tcp(port, proc, what="ganesha.nfsd")
        spec = {"kind": "nfs", "export": "/srv/nfs", "path": "docs/hello.txt", "expect": "says hello",
                "version": 4, "nfsport": port}
        with self.assertRaisesRegex(ProbeFailed, "NOENT"):
            make_probe(dict(spec, path="docs/missing.txt"), LO).check()
        probe = self.exercise(spec, {"expect": "says goodbye"}, lambda: self.kill(proc))
        self.assertEqual(probe.url, f"nfs://{LO}/srv/nfs/docs/hello.txt?version=4&nfsport={port}")


class SilentServerTest(unittest.TestCase):
    """A service that accepts connections and never answers (a hung daemon, a frozen VM's last
    accepted socket): every kind's check gives up with ProbeFailed within about 2 s."""

    def test_every_kind_times_out(self):
        tcp = socket.socket()
        tcp.bind((LO, 0))
        tcp.listen(64)  # never accept(): the kernel completes handshakes, nobody speaks
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((LO, 0))  # never reads
        self.addCleanup(tcp.close)
        self.addCleanup(udp.close)
        port, uport = tcp.getsockname()[1], udp.getsockname()[1]
        specs = [
            {"kind": "http", "port": port},
            {"kind": "http-proxy", "port": port, "url": "http://{host}/"},
            {"kind": "dns", "port": uport, "name": "x.test", "expect": "192.0.2.1"},
            {"kind": "dns", "port": port, "name": "x.test", "expect": "192.0.2.1", "protocol": "tcp"},
            {"kind": "ftp", "port": port, "path": "f", "expect": "x"},
        ]
        if shutil.which("psql"):
            specs.append({"kind": "sql", "port": port, "database": "d", "user": "u", "password": "p",
                          "query": "select 1", "expect": "1"})
        if shutil.which("smbclient"):
            specs.append({"kind": "smb", "port": port, "share": "s", "path": "f", "expect": "x"})
        if shutil.which("svn"):
            specs.append({"kind": "svn", "port": port, "url_path": "/r/f", "expect": "x"})
        if shutil.which("nfs-cat"):
            specs.append({"kind": "nfs", "export": "/e", "path": "f", "expect": "x", "version": 4, "nfsport": port})
        results = {}

        def run(spec):
            probe = make_probe(spec, LO)
            start = time.monotonic()
            try:
                probe.check()
                results[spec["kind"] + spec.get("protocol", "")] = ("passed", 0)
            except ProbeFailed as e:
                results[spec["kind"] + spec.get("protocol", "")] = (str(e), time.monotonic() - start)
            finally:
                probe.close()

        threads = [threading.Thread(target=run, args=(s,)) for s in specs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        self.assertEqual(len(results), len(specs), results)
        for kind, (message, seconds) in results.items():
            with self.subTest(kind=kind):
                self.assertNotEqual(message, "passed")
                self.assertLess(seconds, 3.0, message)


class LocalVm:
    """The 'guest' is this host: ssh runs the command here (the vpn probe only cats its client config)."""

    def ssh(self, command, check=True, timeout=600):
        return subprocess.run(command, shell=True, check=check, timeout=timeout, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def put(self, local, remote, recursive=False):
        raise AssertionError("not used")


class VpnTest(ServerTest):
    """A real OpenVPN server in a network namespace of ours, reached over a veth pair: the probe's
    client runs on the host, its tunnel carries the ping. Addresses exist only on this machine
    (one subnet per test process: two runs at once do not meet)."""
    NET = os.getpid() % 250
    NS_ADDR, HOST_ADDR, TUNNEL = f"10.254.{NET}.2", f"10.254.{NET}.1", f"10.255.{NET}"

    def ip(self, *args, ns=None):
        argv = (["ip", "netns", "exec", ns] if ns else []) + ["ip", *args]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def cert(self, name):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", f"/CN={name}", "-keyout", self.path(f"{name}.key"),
                        "-out", self.path(f"{name}.crt")], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fingerprint = subprocess.run(["openssl", "x509", "-in", self.path(f"{name}.crt"), "-noout", "-fingerprint",
                                      "-sha256"], check=True, text=True, stdout=subprocess.PIPE).stdout
        with open(self.path(f"{name}.crt")) as c, open(self.path(f"{name}.key")) as k:
            return fingerprint.strip().split("=", 1)[1], f"<cert>\n{c.read()}</cert>\n<key>\n{k.read()}</key>\n"

    def start_server(self, ns, port):
        done = self.server_log("ip").count("Initialization Sequence Completed")  # the log is appended to
        proc = self.start(["ip", "netns", "exec", ns, "openvpn", "--config", self.path("server.conf")])
        deadline = time.monotonic() + 15
        while self.server_log("ip").count("Initialization Sequence Completed") == done:
            self.assertIsNone(proc.poll(), self.server_log("ip")[-2000:])
            self.assertLess(time.monotonic(), deadline, self.server_log("ip")[-2000:])
            time.sleep(0.05)
        return proc

    def lab(self, proto):
        """A network namespace with a veth pair, certificates, the server's and the guest's configs
        -> (namespace, port, probe spec)."""
        need("openvpn", "ping", "ip", "openssl")
        if not os.path.exists("/dev/net/tun"):
            raise unittest.SkipTest("no /dev/net/tun")
        ns, veth = f"sp-probe-{os.getpid()}", f"spv{os.getpid() % 100000}"
        port = free_port(socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
        self.ip("netns", "add", ns)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        self.ip("link", "add", veth, "type", "veth", "peer", "name", veth + "n", "netns", ns)
        self.ip("addr", "add", f"{self.HOST_ADDR}/30", "dev", veth)
        self.ip("link", "set", veth, "up")
        self.ip("addr", "add", f"{self.NS_ADDR}/30", "dev", veth + "n", ns=ns)
        self.ip("link", "set", veth + "n", "up", ns=ns)
        self.ip("link", "set", "lo", "up", ns=ns)
        server_fp, server_pem = self.cert("server")
        client_fp, self.client_pem = self.cert("client")
        self.write("server.conf", f"""server {self.TUNNEL}.0 255.255.255.0
topology subnet
dev tun
proto {proto}
local {self.NS_ADDR}
port {port}
dh none
peer-fingerprint {client_fp}
keepalive 10 60
verb 3
{server_pem}""", mode=0o600)
        # the guest's file: complete but for remote; its own dev/proto/keepalive are replaced
        client_conf = self.write("client.conf", f"""client
dev tun
proto udp
remote 192.0.2.1 1194
peer-fingerprint {server_fp}
verb 3
{self.client_pem}""", mode=0o600)
        return ns, port, {"kind": "vpn", "port": port, "proto": proto, "peer": f"{self.TUNNEL}.1",
                          "client_config": client_conf}

    def wait_back(self, probe):
        deadline = time.monotonic() + 20
        while True:
            try:
                return probe.check()
            except ProbeFailed:
                self.assertLess(time.monotonic(), deadline, "the tunnel did not come back after the server's restart")
                time.sleep(0.3)

    def test_openvpn_tcp(self):
        ns, port, spec = self.lab("tcp")
        server = self.start_server(ns, port)
        probe = make_probe(spec, self.NS_ADDR, LocalVm())
        self.addCleanup(probe.close)
        probe.prepare()
        probe.check()
        self.kill(server)
        start = time.monotonic()
        with self.assertRaises(ProbeFailed):
            probe.check()
        self.assertLess(time.monotonic() - start, 3.0)
        self.start_server(ns, port)
        self.wait_back(probe)

    def test_openvpn(self):
        ns, port, spec = self.lab("udp")
        early = make_probe(spec, self.NS_ADDR, LocalVm())
        early.UP_WAIT = 1.5  # no server yet: prepare() gives up, and leaves nothing behind
        with self.assertRaisesRegex(ProbeFailed, "did not come up within 1.5 s"):
            early.prepare()
        self.assertIsNone(early._proc)
        server = self.start_server(ns, port)
        probe = make_probe(spec, self.NS_ADDR, LocalVm())
        self.addCleanup(probe.close)
        probe.prepare()
        with open(os.path.join(probe._dir, "client.conf")) as f:
            made = f.read()
        self.assertEqual(os.stat(os.path.join(probe._dir, "client.conf")).st_mode & 0o777, 0o600)
        self.assertNotIn("192.0.2.1", made)
        self.assertIn(f"remote {self.NS_ADDR} {port} udp\ndev {probe.dev}\n", made)
        self.assertIn(self.client_pem, made)
        probe.check()
        # a peer that is not there does not answer through the tunnel
        other = make_probe(dict(spec, peer=f"{self.TUNNEL}.99"), self.NS_ADDR, LocalVm())
        other.dev, other._proc = probe.dev, probe._proc
        with self.assertRaisesRegex(ProbeFailed, "no echo reply"):
            other.check()
        other._proc = None
        # the server goes away: no reply within 3 s; it comes back: so does the tunnel, by itself
        self.kill(server)
        start = time.monotonic()
        with self.assertRaisesRegex(ProbeFailed, "no echo reply"):
            probe.check()
        self.assertLess(time.monotonic() - start, 3.0)
        self.start_server(ns, port)
        self.wait_back(probe)
        made_dir, openvpn = probe._dir, probe._proc
        probe.close()
        probe.close()
        self.assertIsNotNone(openvpn.poll())
        self.assertFalse(os.path.exists(made_dir))
        self.assertNotEqual(subprocess.run(["ip", "link", "show", "dev", probe.dev], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL).returncode, 0, "the tunnel device is left")
        with self.assertRaisesRegex(ProbeFailed, "not prepared"):
            probe.check()

    def test_bad_config_fails_prepare(self):
        need("openvpn")
        conf = self.write("client.conf", "client\ndev tun\n<key>\nnot a key\n</key>\n", mode=0o600)
        probe = make_probe({"kind": "vpn", "peer": "10.255.0.1", "client_config": conf}, LO, LocalVm())
        self.addCleanup(probe.close)
        with self.assertRaisesRegex(ProbeFailed, "openvpn exited"):
            probe.prepare()
        self.assertIsNone(probe._dir)


class VpnConfigTest(unittest.TestCase):
    def test_config_is_ours(self):
        probe = make_probe({"kind": "vpn", "port": 1195, "proto": "tcp", "peer": "10.8.0.1",
                            "client_config": "/etc/openvpn/client.ovpn"}, "192.168.122.5", LocalVm())
        made = probe.make_client_config("client\ndev tun\nproto udp\nremote x 1\n<tls-crypt>\nping 1 inside\n"
                                        "</tls-crypt>\nredirect-gateway def1\n")
        lines = made.splitlines()
        self.assertEqual(lines[:5], ["client", "<tls-crypt>", "ping 1 inside", "</tls-crypt>",
                                     "# added by the host's probe (ops/lib/probes.py)"])
        self.assertIn("remote 192.168.122.5 1195 tcp", lines)
        self.assertIn(f"dev {probe.dev}", lines)
        self.assertNotIn("redirect-gateway def1", lines)
        for option in ("persist-tun", "ping 1", "ping-restart 5", "route-nopull"):
            self.assertIn(option, lines)
        self.assertRegex(probe.dev, r"^tun-sp[0-9a-f]{6}$")

    def test_needs_the_vm(self):
        probe = make_probe({"kind": "vpn", "peer": "10.8.0.1", "client_config": "/c"}, "192.168.122.5")
        with self.assertRaisesRegex(ValueError, "needs the VM"):
            probe.prepare()


class MakeProbeTest(unittest.TestCase):
    def test_defaults_and_describe(self):
        p = make_probe({"kind": "http"}, "192.168.122.5")
        self.assertEqual((p.port, p.path, p.status, p.expect), (80, "/", 200, None))
        self.assertEqual(p.describe(), "HTTP GET http://192.168.122.5:80/ = 200")
        d = make_probe({"kind": "dns", "name": "www.lab.test", "expect": "192.0.2.80"}, "192.168.122.5")
        self.assertEqual(d.describe(), "DNS A www.lab.test @192.168.122.5:53 = 192.0.2.80")
        sql = make_probe({"kind": "sql", "database": "d", "user": "u", "password": "p", "query": "q", "expect": 1},
                         "10.0.0.1")
        self.assertEqual((sql.port, sql.expect), (5432, "1"))
        self.assertEqual(make_probe({"kind": "ftp", "path": "f", "expect": "x"}, "10.0.0.1").user, "anonymous")
        v = make_probe({"kind": "vpn", "peer": "10.8.0.1", "client_config": "/c"}, "10.0.0.1")
        self.assertEqual((v.port, v.proto), (1194, "udp"))
        smb = make_probe({"kind": "smb", "share": "s", "path": "f", "expect": "x", "user": "u",
                          "password": "pw-xyzzy"}, "10.0.0.1")
        self.assertNotIn("xyzzy", smb.describe() + repr(smb))

    def test_invalid(self):
        cases = [
            ({}, "'kind'"),
            ({"kind": "gopher"}, "'kind'"),
            ({"kind": "dns", "expect": "192.0.2.1"}, "'name'"),
            ({"kind": "dns", "name": "x", "expect": "www"}, "'expect'"),
            ({"kind": "dns", "name": "x", "expect": "192.0.2.1", "protocol": "sctp"}, "'protocol'"),
            ({"kind": "http", "expected": "x"}, "'expected'"),
            ({"kind": "http", "port": 0}, "'port'"),
            ({"kind": "http", "port": "80"}, "'port'"),
            ({"kind": "tcp"}, "'ports'"),
            ({"kind": "tcp", "ports": []}, "'ports'"),
            ({"kind": "tcp", "ports": [22, 70000]}, "'ports'"),
            ({"kind": "http-proxy"}, "'url'"),
            ({"kind": "sql", "database": "d", "user": "u", "query": "q", "expect": "1"}, "'password'"),
            ({"kind": "smb", "share": "s", "expect": "x"}, "'path'"),
            ({"kind": "nfs", "path": "f", "expect": "x"}, "'export'"),
            ({"kind": "ftp", "expect": "x"}, "'path'"),
            ({"kind": "svn", "expect": "x"}, "'url_path'"),
            ({"kind": "vpn", "client_config": "/c"}, "'peer'"),
            ({"kind": "vpn", "peer": "10.8.0.1"}, "'client_config'"),
            ({"kind": "vpn", "peer": "10.8.0.1", "client_config": "/c", "proto": "icmp"}, "'proto'"),
            ({"kind": "http", "expect": 42}, "'expect'"),
            ({"kind": "http", "status": "200"}, "'status'"),
            ({"kind": "nfs", "export": "/e", "path": "f", "expect": "x", "nfsport": 0}, "'nfsport'"),
            ({"kind": "http-proxy", "url": "https://{host}/"}, "'url'"),
        ]
        for spec, field in cases:
            with self.subTest(spec=spec), self.assertRaises(ValueError) as cm:
                make_probe(spec, "192.168.122.5")
            self.assertIn(field, str(cm.exception))
        with self.assertRaisesRegex(ValueError, "'address'"):
            make_probe({"kind": "http"}, "lab-vm.local")

    def test_host_packages(self):
        self.assertEqual(probes.host_packages(["http", "dns", "tcp", "ftp", "http-proxy"]), [])
        self.assertEqual(probes.host_packages(["sql", "smb", "nfs", "svn", "vpn", "sql"]),
                         ["iputils-ping", "libnfs-utils", "openvpn", "postgresql-client", "smbclient", "subversion"])
        with self.assertRaises(ValueError):
            probes.host_packages(["gopher"])


if __name__ == "__main__":
    unittest.main()
