package dev.kafkar.golden;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Writes kafkar's golden vectors with the Apache Kafka Java client as the reference implementation.
 *
 * <p>Usage: {@code Main <output dir>}. The directory receives messages/, frames/, records/, partitioner/ and
 * manifest.json. Output is deterministic: fixed seeds, fixed timestamps, stable key order.
 */
public final class Main {
    private Main() {}

    static String kafkaVersion() throws IOException {
        try (InputStream in = Main.class.getClassLoader().getResourceAsStream("kafka/kafka-version.properties")) {
            Properties p = new Properties();
            if (in != null) p.load(in);
            return p.getProperty("version", "unknown");
        }
    }

    public static void main(String[] args) throws Throwable {
        if (args.length != 1) {
            System.err.println("usage: Main <output dir>");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        Report report = new Report();
        ObjectNode manifest = Json.object();
        manifest.put("generator", "interop/java (kafkar)");
        manifest.put("kafka_clients_version", kafkaVersion());
        manifest.set("messages", new MessageVectors(out, report).run());
        new RecordVectors(out, report).run();
        new PartitionerVectors(out, report).run();
        ObjectNode counts = manifest.putObject("counts");
        report.counts().forEach(counts::put);
        Json.writeFile(out.resolve("manifest.json"), manifest);
        report.print();
    }
}
