package dev.kafkar.golden;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.utils.Utils;

/**
 * Part C: murmur2 key partitioning exactly as the Java producer does it. In kafka-clients 4.4 KafkaProducer calls
 * {@code BuiltInPartitioner.partitionForKey(keyBytes, partitionsForTopic(topic).size())} for a non-null serialized
 * key (unless partitioner.ignore.keys), which is {@code Utils.toPositive(Utils.murmur2(key)) % numPartitions}; both
 * are computed here and must agree.
 */
final class PartitionerVectors {
    static final int KEYS = 10_000;
    static final int MAX_KEY_LEN = 64;
    static final int[] PARTITION_COUNTS = {1, 3, 6, 7, 100};

    private final Path outDir;
    private final Report report;

    PartitionerVectors(Path outDir, Report report) {
        this.outDir = outDir;
        this.report = report;
    }

    void run() {
        Prng rng = Prng.forLabel("partitioner/murmur2");
        ObjectNode file = Json.object();
        file.put("algorithm", "Utils.murmur2 (Kafka's murmur2, seed 0x9747b28c); partition = "
                + "Utils.toPositive(murmur2) % partitions (BuiltInPartitioner.partitionForKey)");
        ArrayNode counts = file.putArray("partition_counts");
        for (int c : PARTITION_COUNTS) counts.add(c);
        ArrayNode columns = file.putArray("columns");
        columns.add("key_hex").add("murmur2").add("to_positive").add("partitions");
        ArrayNode vectors = file.putArray("vectors");
        for (int i = 0; i < KEYS; i++) {
            byte[] key;
            if (i < 26) {
                // a few readable keys first
                key = ("key-" + (char) ('a' + i)).getBytes(StandardCharsets.UTF_8);
            } else {
                key = rng.bytes(i % (MAX_KEY_LEN + 1));
            }
            int hash = Utils.murmur2(key);
            int positive = Utils.toPositive(hash);
            ArrayNode row = Json.NODES.arrayNode();
            row.add(Json.hex(key)).add(hash).add(positive);
            ArrayNode parts = row.addArray();
            for (int n : PARTITION_COUNTS) {
                int p = BuiltInPartitioner.partitionForKey(key, n);
                if (p != positive % n) throw new AssertionError("partitionForKey disagrees with toPositive % n");
                parts.add(p);
            }
            vectors.add(row);
        }
        Json.writeFile(outDir.resolve("partitioner").resolve("murmur2.json"), file);
        report.count("partitioner", KEYS);
    }
}
