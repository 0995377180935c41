package dev.shadowpatch.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Test-only journal of every call the capability test doubles received, on every node of a test:
 * which node, which call, with what. Thread-safe: the job executors of several engines write to it.
 */
public final class CapabilityLog {

    /** One capability call, e.g. {@code node-a hypervisor.createShadow web-01}. */
    public record Call(String node, String call, String detail) {
        @Override
        public String toString() {
            return node + " " + call + " " + detail;
        }

        /** The call without the node, e.g. {@code guest.run 10.0.0.2 apt-get -y upgrade}. */
        public String step() {
            return call + " " + detail;
        }
    }

    private final List<Call> calls = new CopyOnWriteArrayList<>();

    void record(String node, String call, String detail) {
        calls.add(new Call(node, call, detail));
    }

    public List<Call> calls() {
        return List.copyOf(calls);
    }

    /** The steps (without the node) one node performed, in order. */
    public List<String> stepsOn(String node) {
        return calls.stream().filter(c -> c.node().equals(node)).map(Call::step).toList();
    }

    public List<String> steps() {
        return calls.stream().map(Call::step).toList();
    }

    public void clear() {
        calls.clear();
    }
}
