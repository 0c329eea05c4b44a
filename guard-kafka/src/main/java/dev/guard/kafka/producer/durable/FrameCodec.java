package dev.guard.kafka.producer.durable;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * One frame of a segment: {@code int payloadLength | int crc32c(payload) | payload}. Payload, version 0:
 * {@code byte 0 | long timestamp (-1 none) | int partition (-1 none) | short topicLength, topic UTF-8 |
 * int keyLength (-1 null), key | int valueLength (-1 null), value | int headerCount, then per header
 * short keyLength, key UTF-8, int valueLength (-1 null), value}. Not thread-safe.
 */
final class FrameCodec {

    static final int HEADER = 8;
    /** The smallest payload: version, timestamp, partition, empty topic, null key, null value, no headers. */
    static final int MIN_PAYLOAD = 1 + 8 + 4 + 2 + 4 + 4 + 4;
    static final int MAX_PAYLOAD = 1 << 30;

    private final CRC32C crc = new CRC32C();
    private ByteBuffer buf = ByteBuffer.allocate(4096);

    /** Encodes a frame; the returned buffer (reused by the next call) is flipped, ready to write. */
    ByteBuffer encode(String topic, int partition, long timestamp, byte[] key, byte[] value, Iterable<Header> headers) {
        byte[] t = utf8("topic", topic);
        int size = HEADER + MIN_PAYLOAD + t.length + len(key) + len(value);
        if (headers != null) {
            for (Header h : headers) {
                size += 2 + utf8("header key", h.key()).length + 4 + len(h.value());
            }
        }
        if (buf.capacity() < size) {
            buf = ByteBuffer.allocate(Math.max(size, buf.capacity() * 2));
        }
        buf.clear();
        buf.position(HEADER);
        buf.put((byte) 0).putLong(timestamp).putInt(partition).putShort((short) t.length).put(t);
        bytes(key);
        bytes(value);
        int countAt = buf.position();
        buf.putInt(0);
        int count = 0;
        if (headers != null) {
            for (Header h : headers) {
                byte[] hk = utf8("header key", h.key());
                buf.putShort((short) hk.length).put(hk);
                bytes(h.value());
                count++;
            }
        }
        buf.putInt(countAt, count);
        int payload = buf.position() - HEADER;
        crc.reset();
        crc.update(buf.array(), HEADER, payload);
        buf.putInt(0, payload).putInt(4, (int) crc.getValue());
        buf.flip();
        return buf;
    }

    /** The UTF-8 bytes of a name stored with a 16-bit length; longer names are refused, not truncated. */
    private static byte[] utf8(String what, String name) {
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        if (b.length > 0xffff) {
            throw new IllegalArgumentException(what + " must be at most 65535 UTF-8 bytes, was " + b.length);
        }
        return b;
    }

    private static int len(byte[] b) {
        return b == null ? 0 : b.length;
    }

    private void bytes(byte[] b) {
        if (b == null) {
            buf.putInt(-1);
        } else {
            buf.putInt(b.length).put(b);
        }
    }

    /** The length of the valid frame at {@code pos} of {@code data[0, end)}, or -1 if none is there. */
    int validFrameAt(byte[] data, int pos, int end) {
        if (end - pos < HEADER + MIN_PAYLOAD) {
            return -1;
        }
        int payload = ByteBuffer.wrap(data, pos, 4).getInt();
        if (payload < MIN_PAYLOAD || payload > MAX_PAYLOAD || payload > end - pos - HEADER) {
            return -1;
        }
        crc.reset();
        crc.update(data, pos + HEADER, payload);
        if ((int) crc.getValue() != ByteBuffer.wrap(data, pos + 4, 4).getInt()) {
            return -1;
        }
        return decode(data, pos, payload) == null ? -1 : HEADER + payload;
    }

    /** The plausible frame length at {@code pos} judged by its length field alone, or -1. */
    static int claimedLength(byte[] data, int pos, int end) {
        if (end - pos < HEADER) {
            return -1;
        }
        int payload = ByteBuffer.wrap(data, pos, 4).getInt();
        return payload < MIN_PAYLOAD || payload > end - pos - HEADER ? -1 : HEADER + payload;
    }

    /** Decodes the payload of a frame whose checksum matched; null if its fields are inconsistent. */
    static ProducerRecord<byte[], byte[]> decode(byte[] data, int pos, int payload) {
        ByteBuffer b = ByteBuffer.wrap(data, pos + HEADER, payload);
        try {
            if (b.get() != 0) {
                return null;
            }
            long ts = b.getLong();
            int partition = b.getInt();
            byte[] t = new byte[b.getShort() & 0xffff];
            b.get(t);
            byte[] key = read(b);
            byte[] value = read(b);
            int n = b.getInt();
            if (n < 0) {
                return null;
            }
            List<Header> headers = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                byte[] hk = new byte[b.getShort() & 0xffff];
                b.get(hk);
                headers.add(new RecordHeader(new String(hk, StandardCharsets.UTF_8), read(b)));
            }
            if (b.hasRemaining()) {
                return null;
            }
            return new ProducerRecord<>(new String(t, StandardCharsets.UTF_8), partition < 0 ? null : partition,
                    ts < 0 ? null : ts, key, value, headers);
        } catch (RuntimeException e) { // BufferUnderflow, negative sizes: not a frame this codec wrote
            return null;
        }
    }

    private static byte[] read(ByteBuffer b) {
        int n = b.getInt();
        if (n < 0) {
            return null;
        }
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }
}
