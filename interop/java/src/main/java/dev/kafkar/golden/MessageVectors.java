package dev.kafkar.golden;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.ApiVersionsResponseDataJsonConverter;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.protocol.Readable;
import org.apache.kafka.common.protocol.types.RawTaggedField;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MemoryRecordsBuilder;
import org.apache.kafka.common.record.internal.RecordBatch;

/**
 * Part A: protocol message vectors, driven by Kafka's own JSON message specs.
 *
 * <p>For every configured message and every version in its spec's validVersions, builds {@link #VARIANTS} random
 * JSON objects holding exactly the fields valid at that version, turns each into the message object with Kafka's
 * generated {@code <Name>JsonConverter.read}, serializes it with the message's own {@code write}, and stores the
 * bytes next to the converter's own JSON of the message.
 */
final class MessageVectors {
    /** API messages: a request and a response each. Adding a message is adding its spec name here. */
    static final List<String> APIS = List.of(
            "ApiVersions",
            "Metadata",
            "Produce",
            "InitProducerId",
            "FindCoordinator",
            "CreateTopics",
            "DeleteTopics",
            "Fetch",
            "ListOffsets",
            "OffsetCommit",
            "OffsetFetch",
            "JoinGroup",
            "SyncGroup",
            "Heartbeat",
            "LeaveGroup",
            "ConsumerGroupHeartbeat",
            "OffsetForLeaderEpoch",
            "AddPartitionsToTxn",
            "AddOffsetsToTxn",
            "EndTxn",
            "WriteTxnMarkers",
            "TxnOffsetCommit",
            "DescribeTransactions",
            "ListTransactions",
            "SaslHandshake",
            "SaslAuthenticate",
            "CreatePartitions",
            "DescribeConfigs",
            "IncrementalAlterConfigs",
            "DescribeCluster",
            "DescribeTopicPartitions",
            "ListGroups",
            "DescribeGroups",
            "DeleteGroups",
            "ConsumerGroupDescribe",
            "OffsetDelete",
            "DeleteRecords",
            "ListConfigResources",
            "DescribeAcls",
            "CreateAcls",
            "DeleteAcls",
            "DescribeUserScramCredentials",
            "AlterUserScramCredentials",
            "DescribeClientQuotas",
            "AlterClientQuotas",
            "ElectLeaders",
            "AlterPartitionReassignments",
            "ListPartitionReassignments",
            "DescribeLogDirs",
            "AlterReplicaLogDirs",
            "DescribeProducers",
            "DescribeQuorum",
            "UpdateFeatures");

    /** Specs of type "data" (embedded payloads) and "header", by their spec name. */
    static final List<String> OTHERS = List.of(
            "ConsumerProtocolSubscription",
            "ConsumerProtocolAssignment",
            "RequestHeader",
            "ResponseHeader");

    static final int VARIANTS = 4;

    /** Fixed base timestamp for records embedded in messages. */
    static final long BASE_TIMESTAMP = 1_700_000_000_000L;

    private static final String PKG = "org.apache.kafka.common.message.";

    private final Path outDir;
    private final Report report;

    MessageVectors(Path outDir, Report report) {
        this.outDir = outDir;
        this.report = report;
    }

    /** One spec and the Java classes generated from it. */
    static final class Spec {
        final String specName; // e.g. MetadataResponse
        final String name; // e.g. Metadata
        final String kind; // request | response | data | header
        final Integer apiKey;
        final Versions valid;
        final Versions flexible;
        final boolean latestVersionUnstable;
        final JsonNode fields;
        final Map<String, JsonNode> commonStructs = new HashMap<>();
        final Class<?> dataClass;
        final Method read;
        final Method write;
        final Constructor<?> fromBytes;

        Spec(String specName) throws ReflectiveOperationException {
            JsonNode root = Json.readResource("common/message/" + specName + ".json");
            this.specName = specName;
            this.kind = root.get("type").asText();
            this.name = switch (kind) {
                case "request" -> strip(specName, "Request");
                case "response" -> strip(specName, "Response");
                default -> specName;
            };
            this.apiKey = root.has("apiKey") ? root.get("apiKey").asInt() : null;
            this.valid = Versions.parse(root.get("validVersions").asText());
            this.flexible = Versions.parse(root.path("flexibleVersions").asText("none"));
            this.latestVersionUnstable = root.path("latestVersionUnstable").asBoolean(false);
            this.fields = root.get("fields");
            for (JsonNode s : root.path("commonStructs")) commonStructs.put(s.get("name").asText(), s);
            String className = PKG + specName + (kind.equals("data") ? "" : "Data");
            this.dataClass = Class.forName(className);
            Class<?> converter = Class.forName(className + "JsonConverter");
            this.read = converter.getMethod("read", JsonNode.class, short.class);
            this.write = converter.getMethod("write", dataClass, short.class);
            this.fromBytes = dataClass.getConstructor(Readable.class, short.class);
        }

        private static String strip(String s, String suffix) {
            if (!s.endsWith(suffix)) throw new IllegalArgumentException(s + " does not end with " + suffix);
            return s.substring(0, s.length() - suffix.length());
        }

        Message fromJson(JsonNode json, short version) throws Throwable {
            return (Message) invoke(read, json, version);
        }

        JsonNode toJson(Message message, short version) throws Throwable {
            return (JsonNode) invoke(write, message, version);
        }

        Message fromBytes(byte[] bytes, short version) throws Throwable {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            Message m;
            try {
                m = (Message) fromBytes.newInstance(new ByteBufferAccessor(buf), version);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            if (buf.hasRemaining()) throw new IllegalStateException(buf.remaining() + " trailing bytes after read");
            return m;
        }

        private static Object invoke(Method m, Object... args) throws Throwable {
            try {
                return m.invoke(null, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }
    }

    static byte[] serialize(Message message, short version) {
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = message.size(cache, version);
        ByteBuffer buf = ByteBuffer.allocate(size);
        message.write(new ByteBufferAccessor(buf), cache, version);
        if (buf.hasRemaining()) throw new IllegalStateException("size() said " + size + " but write left " + buf.remaining());
        return buf.array();
    }

    enum TagMode { NONE, ALL, RANDOM }

    /** Shape of one variant: which tagged fields appear, how long arrays are, how often nullable things are null. */
    record Shape(TagMode tags, int minArray, int maxArray, int nullPercent) {
        static Shape forVariant(int variant) {
            return switch (variant) {
                case 0 -> new Shape(TagMode.NONE, 0, 2, 10);
                case 1 -> new Shape(TagMode.ALL, 1, 3, 5);
                case 2 -> new Shape(TagMode.RANDOM, 0, 3, 30);
                default -> new Shape(TagMode.RANDOM, 0, 3, 15);
            };
        }
    }

    /** Builds the input JSON for one (spec, version, variant). */
    static final class Builder {
        final Spec spec;
        final int version;
        final Shape shape;
        final Prng rng;

        Builder(Spec spec, int version, int variant) {
            this.spec = spec;
            this.version = version;
            this.shape = Shape.forVariant(variant);
            this.rng = Prng.forLabel(spec.specName + "/" + version + "/" + variant);
        }

        ObjectNode struct(JsonNode fields, int depth) {
            ObjectNode obj = Json.object();
            for (JsonNode f : fields) {
                if (!Versions.parse(f.get("versions").asText()).contains(version)) continue;
                boolean tagged = f.has("tag") && Versions.parse(f.path("taggedVersions").asText(null)).contains(version);
                if (tagged) {
                    boolean present = switch (shape.tags) {
                        case NONE -> false;
                        case ALL -> true;
                        case RANDOM -> rng.nextBool();
                    };
                    if (!present) continue;
                }
                boolean nullable = Versions.parse(f.path("nullableVersions").asText(null)).contains(version);
                obj.set(jsonName(f.get("name").asText()), value(f, f.get("type").asText(), nullable, depth));
            }
            return obj;
        }

        private boolean makeNull(boolean nullable) {
            return nullable && rng.chance(shape.nullPercent);
        }

        JsonNode value(JsonNode field, String type, boolean nullable, int depth) {
            if (type.startsWith("[]")) {
                if (makeNull(nullable)) return Json.NODES.nullNode();
                String element = type.substring(2);
                int max = depth >= 2 ? Math.min(shape.maxArray, 2) : shape.maxArray;
                int min = Math.min(shape.minArray, max);
                int n = (int) rng.between(min, max);
                ArrayNode arr = Json.NODES.arrayNode();
                for (int i = 0; i < n; i++) arr.add(value(field, element, false, depth + 1));
                return arr;
            }
            switch (type) {
                case "bool":
                    return Json.NODES.booleanNode(rng.nextBool());
                case "int8":
                    return Json.NODES.numberNode((int) integer(Byte.MIN_VALUE, Byte.MAX_VALUE));
                case "int16":
                    return Json.NODES.numberNode((int) integer(Short.MIN_VALUE, Short.MAX_VALUE));
                case "uint16":
                    return Json.NODES.numberNode((int) integer(0, 0xffff));
                case "int32":
                    return Json.NODES.numberNode((int) integer(Integer.MIN_VALUE, Integer.MAX_VALUE));
                case "uint32":
                    return Json.NODES.numberNode(integer(0, 0xffff_ffffL));
                case "int64":
                    return Json.NODES.numberNode(integer(Long.MIN_VALUE, Long.MAX_VALUE));
                case "float64":
                    return Json.NODES.numberNode(float64());
                case "string":
                    return makeNull(nullable) ? Json.NODES.nullNode() : Json.NODES.textNode(string());
                case "bytes":
                    return makeNull(nullable) ? Json.NODES.nullNode() : Json.NODES.binaryNode(rng.bytes(rng.below(17)));
                case "uuid":
                    return Json.NODES.textNode(uuid().toString());
                case "records":
                    return records(nullable);
                default:
                    if (makeNull(nullable)) return Json.NODES.nullNode();
                    return struct(structFields(field, type), depth + 1);
            }
        }

        private JsonNode structFields(JsonNode field, String type) {
            if (field.has("fields")) return field.get("fields");
            JsonNode common = spec.commonStructs.get(type);
            if (common == null) throw new IllegalArgumentException(spec.specName + ": unknown type " + type);
            return common.get("fields");
        }

        /** Interesting values more often than uniform: 0, -1, the bounds, small numbers, anything. */
        long integer(long min, long max) {
            switch (rng.below(10)) {
                case 0: return 0;
                case 1: return min < 0 ? -1 : 1;
                case 2: return min;
                case 3: return max;
                case 4: case 5: case 6: return Math.min(max, rng.between(0, 1000));
                default: return rng.between(min, max);
            }
        }

        double float64() {
            return switch (rng.below(4)) {
                case 0 -> 0.0;
                case 1 -> -1.5;
                case 2 -> rng.nextDouble() * 1e6;
                default -> (rng.nextDouble() - 0.5) * 1e-3;
            };
        }

        private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
        /** Multi-byte UTF-8 samples (2, 3 and 4 bytes) so byte lengths differ from char counts. */
        private static final String[] UNICODE = {"\u00e9", "\u20ac", "\u65e5\u672c", "\ud83d\ude00"};

        String string() {
            int n = rng.below(11);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++) sb.append(ALPHABET.charAt(rng.below(ALPHABET.length())));
            if (rng.chance(8)) sb.append(rng.pick(UNICODE));
            return sb.toString();
        }

        Uuid uuid() {
            if (rng.chance(10)) return Uuid.ZERO_UUID;
            return new Uuid(rng.nextLong(), rng.nextLong());
        }

        /** null, empty, or one or two small valid uncompressed v2 batches. */
        JsonNode records(boolean nullable) {
            if (makeNull(nullable)) return Json.NODES.nullNode();
            if (rng.chance(15)) return Json.NODES.binaryNode(new byte[0]);
            int batches = rng.chance(25) ? 2 : 1;
            ByteBuffer all = ByteBuffer.allocate(4096);
            long offset = rng.between(0, 1000);
            for (int b = 0; b < batches; b++) {
                boolean idempotent = rng.nextBool();
                MemoryRecordsBuilder builder = MemoryRecords.builder(all, RecordBatch.MAGIC_VALUE_V2, Compression.NONE,
                        TimestampType.CREATE_TIME, offset, RecordBatch.NO_TIMESTAMP,
                        idempotent ? rng.between(0, 1_000_000) : RecordBatch.NO_PRODUCER_ID,
                        idempotent ? (short) rng.between(0, 100) : RecordBatch.NO_PRODUCER_EPOCH,
                        idempotent ? (int) rng.between(0, 1000) : RecordBatch.NO_SEQUENCE,
                        false, false, (int) rng.between(-1, 50));
                int n = 1 + rng.below(3);
                for (int i = 0; i < n; i++) {
                    byte[] key = rng.chance(25) ? null : ("k" + rng.below(1000)).getBytes(StandardCharsets.UTF_8);
                    byte[] value = rng.chance(10) ? null : rng.bytes(rng.below(24));
                    Header[] headers = rng.chance(30)
                            ? new Header[] {new RecordHeader("h" + rng.below(10), rng.chance(30) ? null : rng.bytes(3))}
                            : new Header[0];
                    builder.append(BASE_TIMESTAMP + rng.below(5000), key, value, headers);
                }
                builder.build();
                all = builder.buffer(); // the builder may have grown it
                offset += n + rng.below(5);
            }
            all.flip();
            return Json.NODES.binaryNode(Json.bytes(all));
        }
    }

    /** Kafka's JSON converters name fields in camelCase: the spec name with its first letter lower-cased. */
    static String jsonName(String specFieldName) {
        return Character.toLowerCase(specFieldName.charAt(0)) + specFieldName.substring(1);
    }

    /** The outcome of building one vector. */
    record Vector(byte[] bytes, JsonNode json) {}

    /**
     * read → write → re-read and compare; throws if Java refuses or disagrees with itself. Every step uses a fresh
     * message object: writing a message consumes the position of its MemoryRecords buffers, so a message that has
     * been serialized once converts to JSON with empty records.
     */
    static Vector roundTrip(Spec spec, JsonNode input, short version) throws Throwable {
        JsonNode json = spec.toJson(spec.fromJson(input, version), version);
        restoreRecords(spec, spec.fields, input, json, version);
        byte[] bytes = serialize(spec.fromJson(input, version), version);
        JsonNode reread = spec.toJson(spec.fromBytes(bytes, version), version);
        restoreRecords(spec, spec.fields, input, reread, version); // record bytes are checked below
        if (!json.equals(reread)) {
            throw new AssertionError(spec.specName + " v" + version + ": JSON differs after a byte round trip:\n"
                    + Json.compact(json) + "\n" + Json.compact(reread));
        }
        byte[] fromJson = serialize(spec.fromJson(json, version), version);
        if (!Arrays.equals(bytes, fromJson)) {
            throw new AssertionError(spec.specName + " v" + version + ": converter JSON does not reproduce the bytes\n"
                    + Json.hex(bytes) + "\n" + Json.hex(fromJson) + "\n" + Json.compact(json));
        }
        byte[] rewritten = serialize(spec.fromBytes(bytes, version), version);
        if (!Arrays.equals(bytes, rewritten)) {
            throw new AssertionError(spec.specName + " v" + version + ": re-read message serializes differently");
        }
        return new Vector(bytes, json);
    }

    /**
     * Kafka's generated converters never write record data: a non-null {@code records} field comes out as ""
     * (or as {@code recordsSizeInBytes}). Their {@code read} does take Base64 record bytes, so we put the bytes we
     * fed in back into the converter's output, walking the spec alongside both trees. The caller then checks that
     * this JSON reproduces the serialized bytes.
     */
    static void restoreRecords(Spec spec, JsonNode fields, JsonNode input, JsonNode output, int version) {
        if (input == null || output == null || input.isNull() || output.isNull()) return;
        for (JsonNode f : fields) {
            if (!Versions.parse(f.get("versions").asText()).contains(version)) continue;
            String name = jsonName(f.get("name").asText());
            String type = f.get("type").asText();
            JsonNode in = input.get(name);
            JsonNode out = output.get(name);
            if (in == null || out == null) continue;
            if (type.equals("records")) {
                if (!in.isNull()) ((ObjectNode) output).set(name, in);
                continue;
            }
            boolean array = type.startsWith("[]");
            String element = array ? type.substring(2) : type;
            if (Character.isLowerCase(element.charAt(0))) continue; // primitive
            JsonNode sub = f.has("fields") ? f.get("fields") : spec.commonStructs.get(element).get("fields");
            if (!containsRecords(spec, sub)) continue;
            if (array) {
                if (in.size() != out.size()) {
                    throw new IllegalStateException(spec.specName + ": " + name + " changed size in the converter");
                }
                for (int i = 0; i < in.size(); i++) restoreRecords(spec, sub, in.get(i), out.get(i), version);
            } else {
                restoreRecords(spec, sub, in, out, version);
            }
        }
    }

    static boolean containsRecords(Spec spec, JsonNode fields) {
        for (JsonNode f : fields) {
            String type = f.get("type").asText();
            if (type.equals("records")) return true;
            String element = type.startsWith("[]") ? type.substring(2) : type;
            if (Character.isLowerCase(element.charAt(0))) continue;
            JsonNode sub = f.has("fields") ? f.get("fields") : spec.commonStructs.get(element).get("fields");
            if (containsRecords(spec, sub)) return true;
        }
        return false;
    }

    ObjectNode vectorFile(Spec spec, int version, Object variant, Vector v) {
        ObjectNode out = Json.object();
        out.put("name", spec.name);
        out.put("spec", spec.specName);
        if (spec.apiKey == null) out.putNull("api_key");
        else out.put("api_key", spec.apiKey);
        out.put("kind", spec.kind);
        out.put("version", version);
        if (variant instanceof Integer i) out.put("variant", i);
        else out.put("variant", variant.toString());
        out.put("flexible", spec.flexible.contains(version));
        if (spec.apiKey != null) {
            ApiKeys api = ApiKeys.forId(spec.apiKey);
            out.put("header_version", spec.kind.equals("request")
                    ? api.requestHeaderVersion((short) version)
                    : api.responseHeaderVersion((short) version));
        }
        out.put("hex", Json.hex(v.bytes));
        out.set("json", v.json);
        return out;
    }

    Path messageDir(Spec spec) {
        return outDir.resolve("messages").resolve(spec.name);
    }

    /** Generates every vector; returns the manifest entries. */
    ArrayNode run() throws Throwable {
        ArrayNode manifest = Json.NODES.arrayNode();
        List<String> specNames = new ArrayList<>();
        for (String api : APIS) {
            specNames.add(api + "Request");
            specNames.add(api + "Response");
        }
        specNames.addAll(OTHERS);
        Map<String, Map<Integer, Map.Entry<Integer, Vector>>> firstVectors = new HashMap<>();
        for (String specName : specNames) {
            Spec spec = new Spec(specName);
            Map<Integer, Map.Entry<Integer, Vector>> first = new HashMap<>();
            firstVectors.put(specName, first);
            int count = 0;
            for (int version = spec.valid.lowest(); version <= spec.valid.highest(); version++) {
                int ok = 0;
                for (int variant = 0; variant < VARIANTS; variant++) {
                    JsonNode input = new Builder(spec, version, variant).struct(spec.fields, 0);
                    Vector v;
                    try {
                        v = roundTrip(spec, input, (short) version);
                    } catch (AssertionError e) {
                        throw e;
                    } catch (Throwable e) {
                        report.refused(spec.specName + " v" + version + " variant " + variant + ": " + e);
                        continue;
                    }
                    first.putIfAbsent(version, Map.entry(variant, v));
                    Json.writeFile(messageDir(spec).resolve(spec.kind + "-v" + version + "-" + variant + ".json"),
                            vectorFile(spec, version, variant, v));
                    ok++;
                    count++;
                }
                if (ok == 0) throw new IllegalStateException(spec.specName + " v" + version + ": Java refused every variant");
                if (spec.flexible.contains(version)) {
                    unknownTags(spec, version);
                    count++;
                }
            }
            report.count("messages", count);
            ObjectNode entry = Json.object();
            entry.put("spec", spec.specName);
            entry.put("name", spec.name);
            entry.put("kind", spec.kind);
            if (spec.apiKey == null) entry.putNull("api_key");
            else entry.put("api_key", spec.apiKey);
            entry.put("lowest_version", spec.valid.lowest());
            entry.put("highest_version", spec.valid.highest());
            if (spec.flexible.isEmpty()) entry.putNull("first_flexible_version");
            else entry.put("first_flexible_version", spec.flexible.lowest());
            entry.put("latest_version_unstable", spec.latestVersionUnstable);
            entry.put("vectors", count);
            manifest.add(entry);
        }
        apiVersionsFallback();
        frames(firstVectors);
        return manifest;
    }

    /** Tags no spec field uses: one that fits a 1-byte varint and one that needs 2 bytes. */
    static final int[] UNKNOWN_TAGS = {90, 10_000};

    /**
     * Variant 0 plus unknown tagged fields in the top-level tag buffer. Java keeps them when reading and writes them
     * back in tag order; the JSON cannot show them, so the file lists them under {@code unknown_tagged_fields}.
     */
    void unknownTags(Spec spec, int version) throws Throwable {
        short v = (short) version;
        JsonNode input = new Builder(spec, version, 0).struct(spec.fields, 0);
        Message message = spec.fromJson(input, v);
        ArrayNode listed = Json.NODES.arrayNode();
        Prng rng = Prng.forLabel(spec.specName + "/" + version + "/unknown-tags");
        for (int tag : UNKNOWN_TAGS) {
            byte[] data = rng.bytes(tag == UNKNOWN_TAGS[0] ? 0 : 1 + rng.below(8));
            message.unknownTaggedFields().add(new RawTaggedField(tag, data));
            ObjectNode t = Json.object();
            t.put("tag", tag);
            t.put("hex", Json.hex(data));
            listed.add(t);
        }
        byte[] bytes = serialize(message, v);
        Message reread = spec.fromBytes(bytes, v);
        if (!reread.unknownTaggedFields().equals(message.unknownTaggedFields())) {
            throw new AssertionError(spec.specName + " v" + version + ": unknown tagged fields lost on read");
        }
        if (!Arrays.equals(bytes, serialize(spec.fromBytes(bytes, v), v))) {
            throw new AssertionError(spec.specName + " v" + version + ": unknown tagged fields not re-written");
        }
        JsonNode json = spec.toJson(spec.fromJson(input, v), v);
        restoreRecords(spec, spec.fields, input, json, version);
        ObjectNode file = vectorFile(spec, version, "unknown-tags", new Vector(bytes, json));
        file.set("unknown_tagged_fields", listed);
        Json.writeFile(messageDir(spec).resolve(spec.kind + "-v" + version + "-unknown-tags.json"), file);
    }

    /**
     * A broker that does not support the ApiVersions request version it received answers with an ApiVersions
     * response encoded at version 0, error UNSUPPORTED_VERSION, and the api keys it does support (so the client can
     * retry with a version it knows). The list here is what this Kafka release's broker listener advertises.
     */
    ApiVersionsResponseData fallbackResponse() {
        ApiVersionsResponseData data = new ApiVersionsResponseData().setErrorCode(Errors.UNSUPPORTED_VERSION.code());
        ApiKeys.apisForListener(ApiMessageType.ListenerType.BROKER).stream()
                .sorted((a, b) -> Short.compare(a.id, b.id))
                .forEach(api -> api.toApiVersion(false).ifPresent(av -> data.apiKeys().add(av.duplicate())));
        return data;
    }

    void apiVersionsFallback() throws Throwable {
        Spec spec = new Spec("ApiVersionsResponse");
        ApiVersionsResponseData data = fallbackResponse();
        short version = 0;
        JsonNode input = ApiVersionsResponseDataJsonConverter.write(data, version);
        Vector v = roundTrip(spec, input, version);
        ObjectNode file = vectorFile(spec, version, "fallback", v);
        Json.writeFile(messageDir(spec).resolve("response-v0-fallback.json"), file);
        report.count("messages", 1);
    }

    static final int FRAME_CORRELATION_ID = 0x1234_5678;
    static final String FRAME_CLIENT_ID = "kafkar-golden";

    /**
     * Full frames (int32 size, header, body) for the first variant (0 unless Java refused it) of every request and
     * response version, with the header version Java picks for that API version (ApiVersions responses always use
     * header v0).
     */
    void frames(Map<String, Map<Integer, Map.Entry<Integer, Vector>>> firstVectors) throws Throwable {
        for (String api : APIS) {
            ObjectNode file = Json.object();
            Spec req = new Spec(api + "Request");
            file.put("name", api);
            file.put("api_key", req.apiKey);
            file.put("correlation_id", FRAME_CORRELATION_ID);
            file.put("client_id", FRAME_CLIENT_ID);
            ArrayNode frames = file.putArray("frames");
            ApiKeys key = ApiKeys.forId(req.apiKey);
            for (String kind : List.of("request", "response")) {
                String specName = api + (kind.equals("request") ? "Request" : "Response");
                Map<Integer, Map.Entry<Integer, Vector>> vectors = firstVectors.get(specName);
                for (int version : vectors.keySet().stream().sorted().toList()) {
                    Vector body = vectors.get(version).getValue();
                    short hv;
                    byte[] header;
                    if (kind.equals("request")) {
                        hv = key.requestHeaderVersion((short) version);
                        header = serialize(new RequestHeaderData()
                                .setRequestApiKey(key.id)
                                .setRequestApiVersion((short) version)
                                .setCorrelationId(FRAME_CORRELATION_ID)
                                .setClientId(FRAME_CLIENT_ID), hv);
                    } else {
                        hv = key.responseHeaderVersion((short) version);
                        header = serialize(new ResponseHeaderData().setCorrelationId(FRAME_CORRELATION_ID), hv);
                    }
                    ByteBuffer frame = ByteBuffer.allocate(4 + header.length + body.bytes.length);
                    frame.putInt(header.length + body.bytes.length).put(header).put(body.bytes);
                    ObjectNode f = Json.object();
                    f.put("kind", kind);
                    f.put("version", version);
                    f.put("variant", vectors.get(version).getKey());
                    f.put("header_version", hv);
                    f.put("header_hex", Json.hex(header));
                    f.put("hex", Json.hex(frame.array()));
                    frames.add(f);
                }
            }
            Json.writeFile(outDir.resolve("frames").resolve(api + ".json"), file);
            report.count("frames", frames.size());
        }
        // The ApiVersions fallback reply as a broker sends it: response header v0, body at v0.
        byte[] body = serialize(fallbackResponse(), (short) 0);
        byte[] header = serialize(new ResponseHeaderData().setCorrelationId(FRAME_CORRELATION_ID), (short) 0);
        ByteBuffer frame = ByteBuffer.allocate(4 + header.length + body.length);
        frame.putInt(header.length + body.length).put(header).put(body);
        ObjectNode f = Json.object();
        f.put("name", "ApiVersions");
        f.put("api_key", ApiKeys.API_VERSIONS.id);
        f.put("kind", "response");
        f.put("version", 0);
        f.put("variant", "fallback");
        f.put("header_version", 0);
        f.put("correlation_id", FRAME_CORRELATION_ID);
        f.put("header_hex", Json.hex(header));
        f.put("hex", Json.hex(frame.array()));
        Json.writeFile(outDir.resolve("frames").resolve("ApiVersions-fallback.json"), f);
        report.count("frames", 1);
    }
}
