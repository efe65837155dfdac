package dev.kafkar.golden;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/** JSON helpers: reading Kafka's specs (which carry // comments) and writing stable, diff-friendly files. */
final class Json {
    /** Lenient reader for Kafka's message specs. */
    static final ObjectMapper SPEC_MAPPER = new ObjectMapper().configure(JsonParser.Feature.ALLOW_COMMENTS, true);
    /** Writer for leaves; BinaryNode is written as standard Base64 with padding (Jackson's default variant). */
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** A container whose compact form is at most this long is written on one line. */
    private static final int INLINE_LIMIT = 120;

    private Json() {}

    static ObjectNode object() {
        return NODES.objectNode();
    }

    static JsonNode readResource(String path) {
        try (InputStream in = Json.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) throw new IllegalArgumentException("resource not found on classpath: " + path);
            return SPEC_MAPPER.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String compact(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Deterministic layout: insertion order of keys, two-space indent, a container on one line when it is short or
     * holds no non-empty containers, newline at end of file.
     */
    static String pretty(JsonNode node) {
        StringBuilder sb = new StringBuilder();
        layout(node, 0, sb);
        sb.append('\n');
        return sb.toString();
    }

    private static boolean hasNestedContainers(JsonNode node) {
        for (JsonNode child : node) {
            if (child.isContainerNode() && child.size() > 0) return true;
        }
        return false;
    }

    private static void layout(JsonNode node, int depth, StringBuilder sb) {
        if (!node.isContainerNode() || node.size() == 0) {
            sb.append(compact(node));
            return;
        }
        String flat = compact(node);
        if (flat.length() <= INLINE_LIMIT || !hasNestedContainers(node)) {
            sb.append(flat);
            return;
        }
        String pad = "  ".repeat(depth + 1);
        if (node.isArray()) {
            sb.append("[\n");
            Iterator<JsonNode> it = node.elements();
            while (it.hasNext()) {
                sb.append(pad);
                layout(it.next(), depth + 1, sb);
                if (it.hasNext()) sb.append(',');
                sb.append('\n');
            }
            sb.append("  ".repeat(depth)).append(']');
        } else {
            sb.append("{\n");
            Iterator<Map.Entry<String, JsonNode>> it = node.properties().iterator();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                sb.append(pad).append(compact(NODES.textNode(e.getKey()))).append(": ");
                layout(e.getValue(), depth + 1, sb);
                if (it.hasNext()) sb.append(',');
                sb.append('\n');
            }
            sb.append("  ".repeat(depth)).append('}');
        }
    }

    static void writeFile(Path path, JsonNode node) {
        try {
            Files.createDirectories(path.getParent());
            Files.writeString(path, pretty(node), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    static String hex(byte[] bytes) {
        char[] out = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            out[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
            out[2 * i + 1] = HEX[bytes[i] & 0xf];
        }
        return new String(out);
    }

    /** Hex of the remaining bytes of a buffer, without moving its position. */
    static String hex(ByteBuffer buffer) {
        return hex(bytes(buffer));
    }

    static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer dup = buffer.duplicate();
        byte[] out = new byte[dup.remaining()];
        dup.get(out);
        return out;
    }

    /** Hex of a nullable buffer as a JSON node (null stays null). */
    static JsonNode hexOrNull(ByteBuffer buffer) {
        return buffer == null ? NODES.nullNode() : NODES.textNode(hex(buffer));
    }
}
