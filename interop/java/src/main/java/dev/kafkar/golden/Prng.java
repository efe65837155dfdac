package dev.kafkar.golden;

import java.nio.charset.StandardCharsets;

/**
 * A tiny deterministic pseudo-random generator (SplitMix64). We own the algorithm so the vectors never change
 * because a JDK changed its generator; seeds come from stable strings via FNV-1a.
 */
final class Prng {
    private long state;

    Prng(long seed) {
        this.state = seed;
    }

    /** A generator seeded from a label such as {@code "MetadataResponse/12/0"}. */
    static Prng forLabel(String label) {
        long h = 0xcbf29ce484222325L;
        for (byte b : label.getBytes(StandardCharsets.UTF_8)) {
            h ^= (b & 0xff);
            h *= 0x100000001b3L;
        }
        return new Prng(h);
    }

    long nextLong() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    int nextInt() {
        return (int) (nextLong() >>> 32);
    }

    /** Uniform in [0, bound). */
    int below(int bound) {
        if (bound <= 0) throw new IllegalArgumentException("bound " + bound);
        return (int) Long.remainderUnsigned(nextLong(), bound);
    }

    /** Uniform in [lo, hi] (inclusive). */
    long between(long lo, long hi) {
        long span = hi - lo + 1;
        if (span <= 0) return lo + (nextLong() & Long.MAX_VALUE) % (hi - lo); // only for huge spans
        return lo + Long.remainderUnsigned(nextLong(), span);
    }

    /** True with probability percent/100. */
    boolean chance(int percent) {
        return below(100) < percent;
    }

    boolean nextBool() {
        return (nextLong() & 1) == 1;
    }

    /** A double in [0, 1) built from 53 random bits. */
    double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    byte[] bytes(int n) {
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) out[i] = (byte) nextLong();
        return out;
    }

    <T> T pick(T[] options) {
        return options[below(options.length)];
    }
}
