"""ops/paper-experiment's verdict on the issue's goal per service (goal()), from a run's saved result."""
import importlib.machinery
import importlib.util
import unittest
from pathlib import Path

_loader = importlib.machinery.SourceFileLoader("paper_experiment", str(Path(__file__).resolve().parent.parent / "paper-experiment"))
_spec = importlib.util.spec_from_loader("paper_experiment", _loader)
pe = importlib.util.module_from_spec(_spec)
_loader.exec_module(pe)


def result(sp=30.0, in_place=70.0, shutdown=5.0, merge=2.0, boot=30.0, passed=True):
    return {"service": "bind9", "e2e": {"passed": passed, "shutdown_seconds": shutdown, "merge_seconds": merge,
                                        "boot_seconds": boot, "service_downtime_seconds": {
                                            "bind9": {"shadow_patching": sp, "in_place": in_place}}}}


class GoalTest(unittest.TestCase):
    def test_met_when_checks_pass_the_merge_adds_at_most_a_tenth_and_downtime_is_at_most_half(self):
        met, why = pe.goal(result())
        self.assertTrue(met, why)
        self.assertIn("window 37.0 <= 38.5", why)

    def test_each_part_alone_misses_it(self):
        for r, part in ((result(passed=False), "checks FAILED"),
                        (result(merge=3.6), "window 38.6 > 38.5"),
                        (result(sp=35.1), "downtime 35.1 > 35.0")):
            met, why = pe.goal(r)
            self.assertFalse(met, why)
            self.assertTrue(why.startswith("missed: "), why)
            self.assertIn(part, why)

    def test_a_run_without_the_in_place_side_is_not_measured(self):
        r = result()
        del r["e2e"]["service_downtime_seconds"]["bind9"]["in_place"]
        self.assertEqual((None, "not measured"), pe.goal(r))


if __name__ == "__main__":
    unittest.main()
