"""Shared pieces of ops/e2e and ops/demo: lab VMs, patch bundles, the REST API (services: services.py)."""
import base64
import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def log(prefix, msg):
    print(f"{prefix} [{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(cmd, check=True, capture=True, timeout=None, env=None):
    res = subprocess.run(cmd, shell=isinstance(cmd, str), text=True, timeout=timeout, env=env,
                         stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None)
    if check and res.returncode != 0:
        raise RuntimeError(f"command failed ({res.returncode}): {cmd}\n{res.stderr or ''}{res.stdout or ''}")
    return res


def wait_for(what, predicate, timeout, interval=3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


class LabVm:
    """A lab VM from ops/lab-vm, reached with the orchestrator's key and its pinned host key."""

    def __init__(self, name, services, recreate=True, layout=None):
        env = dict(os.environ, LAB_VM_SERVICES=",".join(services))
        if layout:
            env["LAB_VM_LAYOUT"] = layout
        self.layout = layout or os.environ.get("LAB_VM_LAYOUT", "")
        cmd = [str(ROOT / "ops" / "lab-vm"), "--name", name] + (["--recreate"] if recreate else [])
        res = subprocess.run(cmd, env=env, text=True, stdout=subprocess.PIPE, timeout=1800)  # progress on stderr
        if res.returncode != 0:
            raise RuntimeError(f"ops/lab-vm --name {name} failed (exit {res.returncode}); its messages are above")
        info = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
        self.name, self.address = name, info["address"]
        self.ssh_base = ["ssh", "-i", info["ssh_key"], "-o", f"UserKnownHostsFile={info['known_hosts']}",
                         "-o", f"HostKeyAlias={info['host_key_alias']}", "-o", "StrictHostKeyChecking=yes",
                         "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]

    def ssh(self, command, check=True, timeout=600, persist=False):
        """persist: over one SSH connection kept open between calls (a probe polling the guest), which
        gives up connecting after 2 s (the VM is down)."""
        shared = ["-o", "ControlMaster=auto", "-o", f"ControlPath=/tmp/sp-ssh-{self.name}-%C", "-o", "ControlPersist=15",
                  "-o", "ConnectTimeout=2"] if persist else []  # ssh keeps an option's first value: before ssh_base
        return sh(self.ssh_base[:1] + shared + self.ssh_base[1:] + [f"root@{self.address}", command], check=check, timeout=timeout)

    def put(self, local, remote, recursive=False):
        sh(["scp", "-q"] + (["-r"] if recursive else []) + self.ssh_base[1:] + [str(local), f"root@{self.address}:{remote}"])


def build_bundle(vm, out_dir, work_dir, release=None, only=None):
    """The pending bookworm-security/-updates upgrades of the VM's packages, built on the host
    (ops/patch-bundle), the kernel included; only a VM whose kernel the host provides (the direct
    layout: libvirt boots a kernel file) has its kernel held. With release (e.g. trixie): the
    release upgrade to it. With only (an extended regex): only the packages whose name matches.
    Returns {package: new version}."""
    status = Path(work_dir) / f"{vm.name}-dpkg-status"
    status.write_text(vm.ssh("cat /var/lib/dpkg/status").stdout)
    sh(["rm", "-rf", str(out_dir)])
    direct_kernel = "<kernel>" in sh(["virsh", "-q", "-c", "qemu:///system", "dumpxml", vm.name]).stdout
    sh([str(ROOT / "ops" / "patch-bundle"), "--status", str(status), "--out", str(out_dir)]
       + (["--exclude", "^linux-image"] if direct_kernel else []) + (["--release", release] if release else [])
       + (["--only", only] if only else []))
    return dict(line.split("=", 1) for line in (Path(out_dir) / "upgrades.txt").read_text().split())


# The command a patch bundle is applied with inside a guest (PatchBundle uploads it there).
BUNDLE_PATCH_COMMAND = "sh /var/cache/sp-patch-bundle/apply.sh"


class Api:
    """The app's REST API with HTTP Basic credentials."""

    def __init__(self, base_url, user, password):
        self.base_url = base_url
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.base_url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": self.auth, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as res:
            data = res.read()
            return json.loads(data) if data else None

    def wait_until_up(self, proc, timeout=300):
        for _ in range(timeout):
            if proc is not None and proc.poll() is not None:
                raise RuntimeError("the app stopped during start-up; see its log")
            try:
                self.call("GET", "/engine-rest/process-definition/key/shadow-patching")
                return
            except Exception:
                time.sleep(1)
        raise RuntimeError(f"the app did not answer within {timeout} s")
