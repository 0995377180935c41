"""Unit tests of the service definitions (ops/services) and their loader. Run: cd ops/lib && python3 -m unittest -v"""
import subprocess
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import services as svc

PAPER_NINE = ["bind9", "subversion", "nfs-kernel-server", "openvpn", "postgresql", "samba", "squid", "apache2", "vsftpd"]


class DefinitionsTest(unittest.TestCase):
    def test_the_papers_nine_and_nginx_are_defined_and_complete(self):
        for name in PAPER_NINE + ["nginx"]:
            s = svc.load(name)
            self.assertTrue(s.defined, name)
            self.assertTrue(s.packages and s.units and s.test, name)
            self.assertTrue(s.workload and s.workload_count, f"{name}: a workload and its count")
            self.assertEqual({"command", "check"}, set(s.live_edit), f"{name}: a live edit and its check")
            self.assertIn(s.probe["kind"], ("http", "http-proxy", "dns", "sql", "smb", "nfs", "ftp", "svn", "vpn"), name)

    def test_every_script_is_valid_shell(self):
        for f in sorted(svc.DEFINITIONS.glob("*.toml")):
            s = svc.load(f.stem)
            scripts = {"setup": s.setup, "test": s.test, "workload": s.workload, "workload_count": s.workload_count,
                       **{f"live_edit.{k}": v for k, v in s.live_edit.items()},
                       "benchmark": s.benchmark.get("command", "")}
            for what, script in scripts.items():
                res = subprocess.run(["sh", "-n"], input=script, text=True, capture_output=True)
                self.assertEqual(0, res.returncode, f"{f.name} {what}: {res.stderr}")

    def test_all_ten_can_share_one_vm(self):
        services = svc.load_all(PAPER_NINE + ["nginx"])
        ports = [p for s in services for p in svc.probe_ports(s.probe)]
        self.assertEqual(len(ports), len(set(ports)))

    def test_aliases_name_the_same_definition(self):
        self.assertEqual("subversion", svc.load("svnserve").name)
        self.assertEqual("bind9", svc.load("named").name)

    def test_an_undefined_package_is_a_generic_service(self):
        s = svc.load("memcached")
        self.assertFalse(s.defined)
        self.assertEqual(["memcached"], s.packages)

    def test_a_name_that_is_no_package_is_refused_with_the_defined_ones(self):
        with self.assertRaises(svc.ServiceError) as e:
            svc.load("Bad Name;rm")
        self.assertIn("bind9", str(e.exception))

    def test_two_services_on_one_port_are_refused(self):
        with tempfile.TemporaryDirectory() as d:
            Path(d, "web2.toml").write_text('packages=["lighttpd"]\nunits=["lighttpd"]\nsetup=""\ntest="true"\n'
                                            '[probe]\nkind="http"\nport=80\n')
            with mock.patch.object(svc, "DEFINITIONS", Path(d)):
                svc.load("web2")  # loads alone
                Path(d, "nginx.toml").write_text((Path(svc.__file__).parent.parent / "services" / "nginx.toml").read_text())
                with self.assertRaises(svc.ServiceError) as e:
                    svc.load_all(["nginx", "web2"])
        self.assertIn("port 80", str(e.exception))

    def test_a_definition_missing_its_probe_is_refused_naming_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            Path(d, "half.toml").write_text('packages=["x"]\nunits=["x"]\nsetup=""\ntest="true"\n')
            with mock.patch.object(svc, "DEFINITIONS", Path(d)):
                with self.assertRaises(svc.ServiceError) as e:
                    svc.load("half")
        self.assertIn("half.toml", str(e.exception))
        self.assertIn("probe", str(e.exception))

    def test_the_policy_puts_each_services_data_on_the_live_side(self):
        text = svc.policy_text(svc.load_all(["bind9", "squid", "nginx"]))
        rules = [line.split("#")[0].split() for line in text.splitlines() if line.split("#")[0].strip()]
        self.assertIn(["/var/lib/bind", "exclude"], rules)
        self.assertIn(["/var/spool/squid", "exclude"], rules)
        self.assertTrue(all(len(r) == 2 for r in rules))

    def test_render_fills_placeholders_and_leaves_shell_braces(self):
        self.assertEqual("pw=s3 ${n:-0} h:1", svc.render("pw=@SECRET@ ${n:-0} @ORIGIN@", {"SECRET": "s3", "ORIGIN": "h:1"}))

    def test_the_image_packages_leave_benchmark_tools_out_unless_asked(self):
        nginx = [svc.load("nginx")]
        self.assertEqual(["nginx"], svc.packages(nginx))
        self.assertIn("apache2-utils", svc.packages(nginx, benchmarks=True))

    def test_the_test_command_needs_every_service(self):
        cmd = svc.test_command(svc.load_all(["bind9", "squid"]))
        self.assertIn("192.0.2.80", cmd)
        self.assertIn("3128", cmd)
        self.assertEqual(0, subprocess.run(["sh", "-n", "-c", cmd]).returncode)


class GenericServiceTest(unittest.TestCase):
    """resolve() against a recorded guest: units from the package's file list, ports from the units' processes."""

    class Guest:
        name = "guest"

        def __init__(self, answers):
            self.answers = answers

        def ssh(self, command, check=True, timeout=600):
            out = next((a for key, a in self.answers if key in command), "")
            return subprocess.CompletedProcess(command, 0, out, "")

    def test_units_and_public_ports_are_found(self):
        guest = self.Guest([("dpkg -L", "memcached.service\n"), ("systemctl is-active", "active\n"),
                            ("ControlGroup", "0.0.0.0:11211\n127.0.0.1:9999\n[::]:11211\n")])
        s = svc.load("memcached").resolve(guest)
        self.assertEqual(["memcached"], s.units)
        self.assertEqual({"kind": "tcp", "ports": [11211]}, s.probe)
        self.assertIn("systemctl is-active --quiet memcached", s.test)

    def test_a_service_on_the_loopback_only_is_probed_inside_the_guest(self):
        guest = self.Guest([("dpkg -L", "redis-server.service\n"), ("systemctl is-active", "active\n"),
                            ("ControlGroup", "127.0.0.1:6379\n[::1]:6379\n")])
        s = svc.load("redis-server").resolve(guest)
        self.assertEqual({"kind": "guest", "ports": [6379]}, s.probe)
        self.assertIn("loopback", s.description)
        self.assertEqual([6379], svc.probe_ports(s.probe))

    def test_a_service_on_no_tcp_port_is_probed_by_its_units_state(self):
        guest = self.Guest([("dpkg -L", "chrony.service\n"), ("systemctl is-active", "active\n"),
                            ("ControlGroup", "")])
        s = svc.load("chrony").resolve(guest)
        self.assertEqual({"kind": "guest", "units": ["chrony"]}, s.probe)
        self.assertIn("no TCP port", s.description)

    def test_a_unit_off_by_design_is_left_out_and_none_running_is_refused(self):
        guest = self.Guest([("dpkg -L", "apache2.service\napache-htcacheclean.service\n"),
                            ("systemctl is-active", "active\ninactive\n"), ("ControlGroup", "0.0.0.0:80\n")])
        s = svc.Service(name="web", defined=False, description="", packages=["web"], units=[]).resolve(guest)
        self.assertEqual(["apache2"], s.units)
        self.assertNotIn("htcacheclean", s.test)
        idle = self.Guest([("dpkg -L", "foo.service\n"), ("systemctl is-active", "inactive\n")])
        with self.assertRaises(svc.ServiceError) as e:
            svc.load("foo").resolve(idle)
        self.assertIn("foo inactive", str(e.exception))
        self.assertIn("ops/services/foo.toml", str(e.exception))

    def test_a_package_without_a_unit_is_refused_saying_what_to_write(self):
        with self.assertRaises(svc.ServiceError) as e:
            svc.load("less").resolve(self.Guest([]))
        self.assertIn("ops/services/less.toml", str(e.exception))


if __name__ == "__main__":
    unittest.main()
