"""Services as data: the definitions in ops/services/*.toml, and what ops/e2e does with them in a lab VM.

A definition says which Debian packages a service is, how it serves something real in the lab VM
(setup), how it is tested from inside the guest, how the host probes it (ops/lib/probes.py), what the
live VM writes into it all the time (workload) and which live configuration edit the merge must keep.
A name with no definition is a generic service: its package's systemd units and the TCP ports they
listen on are found in the VM (Service.resolve).
"""
import shlex
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFINITIONS = Path(__file__).resolve().parent.parent / "services"
PACKAGE_NAME = r"^[a-z0-9][a-z0-9+.-]*$"


@dataclass
class Service:
    name: str
    defined: bool
    description: str
    packages: list
    units: list
    setup: str = ""
    test: str = ""
    workload: str = ""
    workload_count: str = ""
    policy: list = field(default_factory=list)
    conffiles: list = field(default_factory=list)
    live_edit: dict = field(default_factory=dict)
    probe: dict = field(default_factory=dict)
    benchmark: dict = field(default_factory=dict)

    def resolve(self, vm):
        """A generic service learns its units and ports from the running VM: the systemd service units
        its package ships (templates left out) and the TCP ports their processes listen on. The host
        probes those ports; a service listening on the guest's loopback only, or on no TCP port, is
        probed from inside the guest through SSH (probe kind 'guest')."""
        if self.defined:
            return self
        pkgs = " ".join(shlex.quote(p) for p in self.packages)
        units = vm.ssh(f"dpkg -L {pkgs} 2>/dev/null | grep -E '^/(usr/)?lib/systemd/system/[^/@]+\\.service$'"
                       " | xargs -rn1 basename | sort -u", check=False).stdout.split()
        if not units:
            raise ServiceError(f"{self.name}: no definition in {DEFINITIONS} and its package ships no systemd service unit;"
                               f" write ops/services/{self.name}.toml")
        units = [u.removesuffix(".service") for u in units]
        # only the units that run: a package may ship a helper that is off by design (apache2's htcacheclean)
        states = vm.ssh("systemctl is-active " + " ".join(shlex.quote(u) for u in units), check=False).stdout.split()
        self.units = [u for u, state in zip(units, states) if state == "active"]
        if not self.units:
            raise ServiceError(f"{self.name}: none of its units runs in the VM ("
                               + ", ".join(f"{u} {state}" for u, state in zip(units, states + ["?"] * len(units)))
                               + f"); start it in a definition: write ops/services/{self.name}.toml")
        self.test = " && ".join(f"systemctl is-active --quiet {shlex.quote(u)}" for u in self.units)
        ports, loopback = set(), set()
        for unit in self.units:
            # the unit's processes from its cgroup, then their listening TCP sockets
            out = vm.ssh(f"cg=$(systemctl show -P ControlGroup {shlex.quote(unit)}); "
                         "[ -n \"$cg\" ] && cat /sys/fs/cgroup$cg/cgroup.procs 2>/dev/null | while read p; do"
                         " ss -Hltnp | grep \"pid=$p,\" | awk '{print $4}'; done", check=False).stdout
            for addr in out.split():
                port = addr.rsplit(":", 1)[-1]
                if port.isdigit():
                    (loopback if addr.startswith(("127.", "[::1]")) else ports).add(int(port))
        names = ", ".join(self.units)
        if ports:
            self.probe = {"kind": "tcp", "ports": sorted(ports)}
            self.description = f"generic: units {names}; TCP ports {', '.join(map(str, sorted(ports)))}"
        elif loopback:  # e.g. memcached, redis: only the guest itself can ask them
            self.probe = {"kind": "guest", "ports": sorted(loopback)}
            self.description = (f"generic: units {names}; TCP ports {', '.join(map(str, sorted(loopback)))} on the guest's"
                                " loopback only, probed through SSH")
        else:
            self.probe = {"kind": "guest", "units": list(self.units)}
            self.description = f"generic: units {names}; no TCP port, probed by systemctl is-active through SSH"
        return self


class ServiceError(Exception):
    """A service definition that cannot work, or a service that failed a step in the VM; says which and why."""


def _definition_files():
    return sorted(DEFINITIONS.glob("*.toml"))


def known():
    """{name or alias: definition file}"""
    names = {}
    for f in _definition_files():
        names[f.stem] = f
        for alias in tomllib.loads(f.read_text()).get("aliases", []):
            names[alias] = f
    return names


def load(name):
    import re
    name = name.strip()
    f = known().get(name)
    if f is None:
        if not re.match(PACKAGE_NAME, name):
            raise ServiceError(f"'{name}' is neither a defined service ({', '.join(sorted(p.stem for p in _definition_files()))})"
                               " nor a Debian package name")
        return Service(name=name, defined=False, description="generic (no definition)", packages=[name], units=[])
    try:
        d = tomllib.loads(f.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ServiceError(f"{f}: not valid TOML: {e}") from e
    missing = [k for k in ("packages", "units", "setup", "test", "probe") if k not in d]
    if missing:
        raise ServiceError(f"{f}: missing {', '.join(missing)}")
    if "kind" not in d["probe"]:
        raise ServiceError(f"{f}: [probe] has no kind")
    for key in ("command", "check"):
        if d.get("live_edit") and key not in d["live_edit"]:
            raise ServiceError(f"{f}: [live_edit] has no {key}")
    for line in d.get("policy", []):
        if len(line.split()) != 2:
            raise ServiceError(f"{f}: policy line '{line}' is not 'GLOB ACTION'")
    return Service(name=f.stem, defined=True, description=d.get("description", f.stem), packages=list(d["packages"]),
                   units=list(d["units"]), setup=d["setup"], test=d["test"].strip(), workload=d.get("workload", ""),
                   workload_count=d.get("workload_count", "").strip(), policy=list(d.get("policy", [])),
                   conffiles=list(d.get("conffiles", [])), live_edit=dict(d.get("live_edit", {})),
                   probe=dict(d["probe"]), benchmark=dict(d.get("benchmark", {})))


def load_all(names):
    """The services of one VM, checked to work together: no name twice, no two probes on one port."""
    services, seen = [], set()
    for n in names:
        s = load(n)
        if s.name in seen:
            raise ServiceError(f"{s.name} is named twice")
        seen.add(s.name)
        services.append(s)
    used = {}
    for s in services:
        for port in probe_ports(s.probe):
            if port in used:
                raise ServiceError(f"{s.name} and {used[port]} both listen on port {port}: they cannot share a VM")
            used[port] = s.name
    return services


def probe_ports(probe):
    defaults = {"http": 80, "http-proxy": 3128, "dns": 53, "sql": 5432, "smb": 445, "ftp": 21, "svn": 3690, "vpn": 1194}
    if probe.get("kind") in ("tcp", "guest"):  # a guest probe's ports are the guest's own: they collide alike
        return list(probe.get("ports") or [])
    port = probe.get("port", defaults.get(probe.get("kind")))
    return [port] if port else []


def packages(services, benchmarks=False):
    """The Debian packages of the lab image, in a stable order (the image cache is keyed on them); with
    benchmarks, also the tools of the services' own benchmarks."""
    out = []
    for s in services:
        out += [p for p in s.packages + (s.benchmark.get("packages", []) if benchmarks else []) if p not in out]
    return out


def render(text, values):
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    return text


def render_probe(probe, values):
    return {k: render(v, values) if isinstance(v, str) else v for k, v in probe.items()}


def run_script(vm, service, what, script, values, timeout=600):
    """Runs a definition's script in the guest from a file (never on a command line: it may hold the
    run's secret), removes the file, raises ServiceError naming the service and step with the output."""
    with tempfile.NamedTemporaryFile("w", prefix=f"sp-{service.name}-{what}-", suffix=".sh", delete=False) as f:
        f.write("set -e\n" + render(script, values))
        local = Path(f.name)
    remote = f"/root/.sp-{service.name}-{what}.sh"
    try:
        vm.put(local, remote)
        res = vm.ssh(f"sh {remote}; rc=$?; rm -f {remote}; exit $rc", check=False, timeout=timeout)
    finally:
        local.unlink()
    if res.returncode != 0:
        out = (res.stdout + (res.stderr or "")).strip()[-1500:].replace(str(values.get("SECRET", "\0")), "***")
        raise ServiceError(f"{service.name}: the {what} step failed in {vm.name} (exit {res.returncode}):\n{out}")
    return res.stdout


def start_workload(vm, service, values):
    if not service.workload:
        return False
    with tempfile.NamedTemporaryFile("w", prefix=f"sp-{service.name}-workload-", delete=False) as f:
        f.write("#!/bin/sh\n# the live VM's workload for " + service.name + " (ops/services)\n" + render(service.workload, values))
        local = Path(f.name)
    try:
        vm.put(local, f"/usr/local/sbin/sp-workload-{service.name}")
    finally:
        local.unlink()
    vm.ssh(f"chmod 755 /usr/local/sbin/sp-workload-{service.name} && "
           f"systemd-run --unit=sp-workload-{service.name} /usr/local/sbin/sp-workload-{service.name} >/dev/null")
    return True


def workload_count(vm, service):
    """How many writes the workload made, or None when the service has no count."""
    if not service.workload_count:
        return None
    out = vm.ssh(service.workload_count, check=False).stdout.strip()
    return int(out) if out.isdigit() else None


def test_command(services):
    """One shell command that succeeds only when every service works (runs inside the guest)."""
    return " && ".join(f"{{ {s.test.strip()} ; }}" for s in services if s.test) or "true"


def policy_text(services):
    lines = [f"{line}  # {s.name}" for s in services for line in s.policy]
    return "# merge policy rules of the services under test (ops/services): their data is the live VM's\n" + \
        "\n".join(lines) + "\n"
