package dev.kafkar.golden;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.ControlRecordType;
import org.apache.kafka.common.record.internal.DefaultRecordBatch;
import org.apache.kafka.common.record.internal.EndTransactionMarker;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MemoryRecordsBuilder;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.utils.internals.ByteBufferOutputStream;

/**
 * Part B: record batch (magic 2) and legacy message set (magic 0/1) vectors written by MemoryRecordsBuilder, each
 * with Java's own reading of it (batches and records as Java's iterators report them).
 */
final class RecordVectors {
    static final long BASE_TS = 1_700_000_000_000L;
    static final long PRODUCER_ID = 123_456_789_012L;
    static final short PRODUCER_EPOCH = 7;

    private final Path outDir;
    private final Report report;

    RecordVectors(Path outDir, Report report) {
        this.outDir = outDir;
        this.report = report;
    }

    /** One record to append; offset null means "next offset". */
    record Rec(Long offset, long timestamp, byte[] key, byte[] value, Header[] headers) {
        static Rec of(long ts, String key, String value, Header... headers) {
            return new Rec(null, ts, utf8(key), utf8(value), headers);
        }

        static Rec bytes(long ts, byte[] key, byte[] value, Header... headers) {
            return new Rec(null, ts, key, value, headers);
        }

        Rec at(long offset) {
            return new Rec(offset, timestamp, key, value, headers);
        }
    }

    /** Parameters of one batch (v2) or message set (v0/v1). */
    static final class Batch {
        byte magic = RecordBatch.MAGIC_VALUE_V2;
        Compression compression = Compression.NONE;
        TimestampType timestampType = TimestampType.CREATE_TIME;
        long baseOffset = 0;
        long logAppendTime = RecordBatch.NO_TIMESTAMP;
        long producerId = RecordBatch.NO_PRODUCER_ID;
        short producerEpoch = RecordBatch.NO_PRODUCER_EPOCH;
        int baseSequence = RecordBatch.NO_SEQUENCE;
        boolean transactional = false;
        int partitionLeaderEpoch = 0;
        long deleteHorizonMs = RecordBatch.NO_TIMESTAMP;
        List<Rec> records = new ArrayList<>();

        Batch magic(int m) {
            magic = (byte) m;
            if (m == 0) timestampType = TimestampType.NO_TIMESTAMP_TYPE;
            if (m < 2) partitionLeaderEpoch = RecordBatch.NO_PARTITION_LEADER_EPOCH;
            return this;
        }

        Batch codec(Compression c) {
            compression = c;
            return this;
        }

        Batch logAppendTime(long ts) {
            timestampType = TimestampType.LOG_APPEND_TIME;
            logAppendTime = ts;
            return this;
        }

        Batch baseOffset(long o) {
            baseOffset = o;
            return this;
        }

        Batch leaderEpoch(int e) {
            partitionLeaderEpoch = e;
            return this;
        }

        Batch idempotent(long pid, short epoch, int seq) {
            producerId = pid;
            producerEpoch = epoch;
            baseSequence = seq;
            return this;
        }

        Batch transactional() {
            transactional = true;
            return this;
        }

        Batch deleteHorizon(long ms) {
            deleteHorizonMs = ms;
            return this;
        }

        Batch add(Rec... rs) {
            records.addAll(List.of(rs));
            return this;
        }

        Batch add(List<Rec> rs) {
            records.addAll(rs);
            return this;
        }

        ByteBuffer build() {
            ByteBufferOutputStream out = new ByteBufferOutputStream(ByteBuffer.allocate(1024));
            MemoryRecordsBuilder b = new MemoryRecordsBuilder(out, magic, compression, timestampType, baseOffset,
                    logAppendTime, producerId, producerEpoch, baseSequence, transactional, false,
                    partitionLeaderEpoch, Integer.MAX_VALUE, deleteHorizonMs);
            for (Rec r : records) {
                if (r.offset() != null) b.appendWithOffset(r.offset(), r.timestamp(), r.key(), r.value(), r.headers());
                else b.append(r.timestamp(), r.key(), r.value(), r.headers());
            }
            return b.build().buffer();
        }
    }

    static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    static Header header(String key, String value) {
        return new RecordHeader(key, utf8(value));
    }

    static ByteBuffer concat(ByteBuffer... parts) {
        int n = 0;
        for (ByteBuffer p : parts) n += p.remaining();
        ByteBuffer all = ByteBuffer.allocate(n);
        for (ByteBuffer p : parts) all.put(p.duplicate());
        all.flip();
        return all;
    }

    static Batch batch() {
        return new Batch();
    }

    static Compression codec(String name) {
        return switch (name) {
            case "none" -> Compression.NONE;
            case "gzip" -> Compression.gzip().build();
            case "snappy" -> Compression.snappy().build();
            case "lz4" -> Compression.lz4().build();
            case "zstd" -> Compression.zstd().build();
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** A small mixed set: keys, null key, null value, empty value, headers including a null header value. */
    static List<Rec> mixed(long ts) {
        return mixedEndingWith(ts, Rec.of(ts + 4, "with-headers", "value-4",
                header("trace-id", "abc123"), header("null-header", null), header("empty", "")));
    }

    /** The same without headers (legacy formats cannot carry them): an empty key last instead. */
    static List<Rec> mixedLegacy(long ts) {
        return mixedEndingWith(ts, Rec.of(ts + 4, "", "empty-key"));
    }

    /** The four records both mixed sets start with (a key, a null key, a null value, an empty value), then a last. */
    private static List<Rec> mixedEndingWith(long ts, Rec last) {
        return List.of(
                Rec.of(ts, "key-0", "value-0"),
                Rec.of(ts + 1, null, "value-without-key"),
                Rec.of(ts + 2, "tombstone", null),
                Rec.of(ts + 3, "empty-value", ""),
                last);
    }

    /**
     * 1000 records × 100-byte values of word-salad text (compressible like real payloads, deterministic); the same
     * records under every codec, so a decoder can check each against v2-none-large.
     */
    static List<Rec> large() {
        String[] words = {"kafka", "record", "batch", "offset", "partition", "topic", "leader", "replica",
                "producer", "consumer", "group", "commit", "fetch", "epoch", "segment", "log"};
        Prng rng = Prng.forLabel("records/large");
        List<Rec> out = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%06d:", i));
            while (sb.length() < 100) sb.append(' ').append(rng.pick(words));
            sb.setLength(100);
            out.add(Rec.of(BASE_TS + i * 7L, String.format(Locale.ROOT, "key-%04d", i), sb.toString()));
        }
        return out;
    }

    interface Maker {
        ByteBuffer make();
    }

    private void emit(String name, boolean deterministic, String note, Maker maker) {
        ByteBuffer bytes;
        try {
            bytes = maker.make();
        } catch (RuntimeException e) {
            report.refused("records " + name + ": " + e);
            return;
        }
        MemoryRecords records = MemoryRecords.readableRecords(bytes.duplicate());
        ObjectNode file = Json.object();
        file.put("name", name);
        file.put("deterministic", deterministic);
        if (note != null) file.put("note", note);
        file.put("size_in_bytes", bytes.remaining());
        file.put("hex", Json.hex(bytes));
        ArrayNode batches = file.putArray("batches");
        for (RecordBatch b : records.batches()) {
            b.ensureValid();
            batches.add(describe(b));
        }
        Json.writeFile(outDir.resolve("records").resolve(name + ".json"), file);
        report.count("records", 1);
    }

    static JsonNode timestampType(TimestampType t) {
        return switch (t) {
            case CREATE_TIME -> Json.NODES.textNode("create");
            case LOG_APPEND_TIME -> Json.NODES.textNode("log_append");
            default -> Json.NODES.nullNode();
        };
    }

    static ObjectNode describe(RecordBatch b) {
        boolean v2 = b.magic() >= RecordBatch.MAGIC_VALUE_V2;
        ObjectNode o = Json.object();
        o.put("base_offset", b.baseOffset());
        o.put("last_offset", b.lastOffset());
        o.put("magic", b.magic());
        o.put("compression", b.compressionType().name);
        o.set("timestamp_type", timestampType(b.timestampType()));
        o.put("crc", b.checksum());
        o.put("size_in_bytes", b.sizeInBytes());
        if (v2) {
            DefaultRecordBatch d = (DefaultRecordBatch) b;
            o.put("producer_id", b.producerId());
            o.put("producer_epoch", b.producerEpoch());
            o.put("base_sequence", b.baseSequence());
            o.put("last_sequence", b.lastSequence());
            o.put("transactional", b.isTransactional());
            o.put("control", b.isControlBatch());
            o.put("partition_leader_epoch", b.partitionLeaderEpoch());
            o.put("last_offset_delta", (int) (b.lastOffset() - b.baseOffset()));
            o.put("base_timestamp", d.baseTimestamp());
            o.put("max_timestamp", b.maxTimestamp());
            OptionalLong horizon = b.deleteHorizonMs();
            if (horizon.isPresent()) o.put("delete_horizon_ms", horizon.getAsLong());
            else o.putNull("delete_horizon_ms");
            o.put("record_count", b.countOrNull());
        } else {
            for (String f : List.of("producer_id", "producer_epoch", "base_sequence", "last_sequence",
                    "transactional", "control", "partition_leader_epoch", "last_offset_delta", "base_timestamp")) {
                o.putNull(f);
            }
            o.put("max_timestamp", b.maxTimestamp());
            o.putNull("delete_horizon_ms");
            o.putNull("record_count");
        }
        ArrayNode recs = o.putArray("records");
        for (Record r : b) {
            ObjectNode ro = Json.object();
            ro.put("offset", r.offset());
            ro.put("timestamp", r.timestamp());
            ro.set("key", Json.hexOrNull(r.key()));
            ro.set("value", Json.hexOrNull(r.value()));
            ArrayNode hs = ro.putArray("headers");
            for (Header h : r.headers()) {
                ObjectNode ho = Json.object();
                ho.put("key", h.key());
                ho.set("value", h.value() == null ? Json.NODES.nullNode() : Json.NODES.textNode(Json.hex(h.value())));
                hs.add(ho);
            }
            if (b.isControlBatch()) {
                ControlRecordType type = ControlRecordType.parse(r.key());
                ObjectNode c = ro.putObject("control");
                c.put("type", type.name());
                if (type == ControlRecordType.COMMIT || type == ControlRecordType.ABORT) {
                    c.put("coordinator_epoch", EndTransactionMarker.deserialize(r).coordinatorEpoch());
                }
            }
            recs.add(ro);
        }
        return o;
    }

    static ByteBuffer endMarker(long offset, ControlRecordType type, int coordinatorEpoch, int leaderEpoch) {
        return MemoryRecords.withEndTransactionMarker(offset, BASE_TS + 50_000, leaderEpoch, PRODUCER_ID,
                PRODUCER_EPOCH, new EndTransactionMarker(type, coordinatorEpoch)).buffer();
    }

    void run() {
        // ---- magic 2, uncompressed: our writer must reproduce these bytes exactly.
        emit("v2-none-basic", true, null, () -> batch().add(
                Rec.of(BASE_TS, "key-0", "value-0"), Rec.of(BASE_TS + 1, "key-1", "value-1"),
                Rec.of(BASE_TS + 2, "key-2", "value-2")).build());
        emit("v2-none-mixed", true, "null key, null value, empty value, headers incl. null value", () ->
                batch().add(mixed(BASE_TS)).build());
        emit("v2-none-null-keys", true, null, () -> batch().add(
                Rec.of(BASE_TS, null, "a"), Rec.of(BASE_TS, null, "b"), Rec.of(BASE_TS, null, null)).build());
        emit("v2-none-empty-key-and-value", true, null, () -> batch().add(
                Rec.of(BASE_TS, "", ""), Rec.of(BASE_TS + 1, "", null)).build());
        emit("v2-none-headers", true, "several headers, duplicate keys, null and empty values, UTF-8 key", () ->
                batch().add(
                        Rec.of(BASE_TS, "k", "v", header("a", "1"), header("a", "2"), header("b", null),
                                header("", "empty-key"), header("c", "")),
                        Rec.of(BASE_TS + 1, "k", "v"),
                        Rec.of(BASE_TS + 2, null, null, header("\u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9-\u20ac", "x"))).build());
        emit("v2-none-timestamps", true, "timestamps before the first (negative deltas), far later, repeated", () ->
                batch().add(
                        Rec.of(BASE_TS, "a", "1"), Rec.of(BASE_TS - 5_000, "b", "2"),
                        Rec.of(BASE_TS + 86_400_000L * 365, "c", "3"), Rec.of(BASE_TS, "d", "4"),
                        Rec.of(0, "e", "5")).build());
        emit("v2-none-no-timestamp", true, "records appended with timestamp -1 (NO_TIMESTAMP)", () ->
                batch().add(Rec.of(RecordBatch.NO_TIMESTAMP, "a", "1"), Rec.of(RecordBatch.NO_TIMESTAMP, "b", "2"))
                        .build());
        emit("v2-none-log-append-time", true, "LogAppendTime: Java reports every record at the batch max timestamp",
                () -> batch().logAppendTime(BASE_TS + 99_999).add(mixed(BASE_TS)).build());
        emit("v2-none-idempotent", true, null, () -> batch().idempotent(PRODUCER_ID, PRODUCER_EPOCH, 42)
                .add(mixed(BASE_TS)).build());
        emit("v2-none-sequence-wrap", true, "base sequence near Integer.MAX_VALUE: last sequence wraps to 0..", () ->
                batch().idempotent(PRODUCER_ID, PRODUCER_EPOCH, Integer.MAX_VALUE - 1)
                        .add(Rec.of(BASE_TS, "a", "1"), Rec.of(BASE_TS, "b", "2"), Rec.of(BASE_TS, "c", "3"))
                        .build());
        emit("v2-none-transactional", true, null, () -> batch().idempotent(PRODUCER_ID, PRODUCER_EPOCH, 0)
                .transactional().add(mixed(BASE_TS)).build());
        emit("v2-control-commit", true, "transaction COMMIT marker", () ->
                endMarker(10, ControlRecordType.COMMIT, 3, 5));
        emit("v2-control-abort", true, "transaction ABORT marker", () ->
                endMarker(11, ControlRecordType.ABORT, 4, 5));
        emit("v2-none-base-offset-leader-epoch", true, null, () -> batch().baseOffset(1_234_567_890_123L)
                .leaderEpoch(17).add(mixed(BASE_TS)).build());
        emit("v2-none-offset-gaps", true, "compacted-style batch: offsets 100, 102, 105 (deltas 0, 2, 5)", () ->
                batch().baseOffset(100).add(
                        Rec.of(BASE_TS, "a", "1").at(100), Rec.of(BASE_TS + 1, "b", "2").at(102),
                        Rec.of(BASE_TS + 2, "c", "3").at(105)).build());
        emit("v2-none-delete-horizon", true, "delete horizon set (attribute bit 6): base timestamp is the horizon",
                () -> batch().deleteHorizon(BASE_TS + 86_400_000L).add(
                        Rec.of(BASE_TS, "a", null), Rec.of(BASE_TS + 10, "b", "2")).build());
        emit("v2-none-varint-sizes", true, "value lengths at varint boundaries", () -> {
            Batch b = batch();
            int[] sizes = {0, 1, 63, 64, 127, 128, 300, 8191, 8192};
            for (int i = 0; i < sizes.length; i++) {
                byte[] value = new byte[sizes[i]];
                for (int j = 0; j < value.length; j++) value[j] = (byte) ('a' + (i + j) % 26);
                b.add(Rec.bytes(BASE_TS + i, utf8("k" + i), value));
            }
            return b.build();
        });
        emit("v2-empty-batch", true, "header-only batch with no records (what log compaction leaves to keep "
                + "producer state): record count 0, last offset delta 2", () -> {
            ByteBuffer buf = ByteBuffer.allocate(DefaultRecordBatch.RECORD_BATCH_OVERHEAD);
            DefaultRecordBatch.writeEmptyHeader(buf, RecordBatch.MAGIC_VALUE_V2, PRODUCER_ID, PRODUCER_EPOCH, 5,
                    20, 22, 3, TimestampType.CREATE_TIME, BASE_TS, false, false);
            buf.flip();
            return buf;
        });
        emit("v2-none-multi-batch", true, "plain, idempotent, transactional batches then a COMMIT marker", () ->
                concat(
                        batch().add(Rec.of(BASE_TS, "a", "1"), Rec.of(BASE_TS + 1, "b", "2")).build(),
                        batch().baseOffset(2).idempotent(PRODUCER_ID + 1, (short) 0, 0)
                                .add(Rec.of(BASE_TS + 2, "c", "3")).build(),
                        batch().baseOffset(3).idempotent(PRODUCER_ID, PRODUCER_EPOCH, 0).transactional()
                                .add(Rec.of(BASE_TS + 3, "d", "4"), Rec.of(BASE_TS + 4, "e", "5")).build(),
                        endMarker(5, ControlRecordType.COMMIT, 1, 0)));
        emit("v2-none-large", true, "1000 records x 100-byte values", () -> batch().add(large()).build());

        // ---- magic 2, compressed: bytes depend on the codec library; decode them, do not expect to re-create them.
        for (String c : List.of("gzip", "snappy", "lz4", "zstd")) {
            emit("v2-" + c + "-mixed", false, null, () -> batch().codec(codec(c)).add(mixed(BASE_TS)).build());
            emit("v2-" + c + "-single", false, "one record", () -> batch().codec(codec(c))
                    .add(Rec.of(BASE_TS, "k", "v")).build());
            emit("v2-" + c + "-large", false, "1000 records x 100-byte values", () -> batch().codec(codec(c))
                    .add(large()).build());
        }
        emit("v2-zstd-transactional", false, null, () -> batch().codec(codec("zstd"))
                .idempotent(PRODUCER_ID, PRODUCER_EPOCH, 100).transactional().baseOffset(40).leaderEpoch(2)
                .add(mixed(BASE_TS)).build());
        emit("v2-gzip-log-append-time", false, null, () -> batch().codec(codec("gzip"))
                .logAppendTime(BASE_TS + 99_999).add(mixed(BASE_TS)).build());
        emit("v2-mixed-codecs", false, "one batch per codec, concatenated", () -> {
            List<ByteBuffer> parts = new ArrayList<>();
            long offset = 0;
            for (String c : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
                parts.add(batch().codec(codec(c)).baseOffset(offset)
                        .add(Rec.of(BASE_TS + offset, c, "value-" + c), Rec.of(BASE_TS + offset + 1, c, null))
                        .build());
                offset += 2;
            }
            return concat(parts.toArray(new ByteBuffer[0]));
        });

        // ---- legacy message sets (magic 0 and 1). Java still writes them with MemoryRecordsBuilder.
        for (int magic : new int[] {0, 1}) {
            long ts = magic == 0 ? RecordBatch.NO_TIMESTAMP : BASE_TS;
            for (String c : List.of("none", "gzip", "snappy", "lz4")) {
                String note = magic == 0 && c.equals("lz4")
                        ? "magic 0 LZ4 uses Kafka's old frame header checksum (over magic..descriptor, KAFKA-3160)"
                        : null;
                emit("v" + magic + "-" + c, c.equals("none"), note, () -> batch().magic(magic).codec(codec(c))
                        .add(legacyAt(ts, magic)).build());
            }
            emit("v" + magic + "-gzip-base-offset", false, magic == 1
                    ? "magic 1 compressed: inner offsets are relative, wrapper offset is the last absolute offset"
                    : "magic 0 compressed: inner offsets are absolute", () -> batch().magic(magic)
                    .codec(codec("gzip")).baseOffset(500).add(legacyAt(ts, magic)).build());
            emit("v" + magic + "-none-base-offset", true, null, () -> batch().magic(magic).baseOffset(500)
                    .add(legacyAt(ts, magic)).build());
        }
        emit("v1-none-log-append-time", true, null, () -> batch().magic(1).logAppendTime(BASE_TS + 99_999)
                .add(mixedLegacy(BASE_TS)).build());
        emit("v1-gzip-log-append-time", false, "wrapper carries LogAppendTime; Java reports it for inner records",
                () -> batch().magic(1).codec(codec("gzip")).logAppendTime(BASE_TS + 99_999)
                        .add(mixedLegacy(BASE_TS)).build());
        emit("v1-zstd", false, null, () -> batch().magic(1).codec(codec("zstd")).add(mixedLegacy(BASE_TS)).build());
        emit("mixed-v0-v1-v2", false, "magic 0, magic 1 (gzip) and magic 2 concatenated (format upgrade)", () ->
                concat(
                        batch().magic(0).add(Rec.of(RecordBatch.NO_TIMESTAMP, "a", "0")).build(),
                        batch().magic(1).codec(codec("gzip")).baseOffset(1)
                                .add(Rec.of(BASE_TS, "b", "1"), Rec.of(BASE_TS + 1, "c", "2")).build(),
                        batch().baseOffset(3).add(Rec.of(BASE_TS + 2, "d", "3")).build()));
    }

    static List<Rec> legacyAt(long ts, int magic) {
        List<Rec> rs = mixedLegacy(BASE_TS);
        if (magic != 0) return rs;
        List<Rec> out = new ArrayList<>();
        for (Rec r : rs) out.add(new Rec(r.offset(), ts, r.key(), r.value(), r.headers()));
        return out;
    }
}
