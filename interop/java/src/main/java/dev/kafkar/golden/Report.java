package dev.kafkar.golden;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What a run produced and what Java refused; printed to stderr at the end (never written into the vectors). */
final class Report {
    private final Map<String, Integer> counts = new TreeMap<>();
    private final List<String> refusals = new ArrayList<>();

    void count(String what, int n) {
        counts.merge(what, n, Integer::sum);
    }

    void refused(String what) {
        refusals.add(what);
    }

    Map<String, Integer> counts() {
        return counts;
    }

    void print() {
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            System.err.println("golden: " + e.getKey() + ": " + e.getValue() + " vectors");
        }
        System.err.println("golden: Java refused " + refusals.size() + " variants (skipped)");
        for (String r : refusals) System.err.println("golden:   refused " + r);
    }
}
