package dev.kafkar.golden;

/** A version range as written in Kafka's message specs: "none", "3", "3+", "3-7". */
record Versions(int lowest, int highest) {
    static final Versions NONE = new Versions(1, 0);
    static final Versions ALL = new Versions(0, Short.MAX_VALUE);

    static Versions parse(String text) {
        if (text == null) return NONE;
        String s = text.trim();
        if (s.equals("none")) return NONE;
        if (s.endsWith("+")) return new Versions(Integer.parseInt(s.substring(0, s.length() - 1)), Short.MAX_VALUE);
        int dash = s.indexOf('-');
        if (dash > 0) return new Versions(Integer.parseInt(s.substring(0, dash)), Integer.parseInt(s.substring(dash + 1)));
        int v = Integer.parseInt(s);
        return new Versions(v, v);
    }

    boolean isEmpty() {
        return lowest > highest;
    }

    boolean contains(int version) {
        return version >= lowest && version <= highest;
    }
}
