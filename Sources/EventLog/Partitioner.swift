/// Kafka's default key partitioner: murmur2 of the key bytes, made positive, modulo the partition count.
/// Identical to the Java client's and to librdkafka's `murmur2_random` for non-null keys.
public enum Partitioner {
    /// The partition for a non-null key.
    public static func partition(forKey key: [UInt8], partitionCount: Int32) -> Int32 {
        precondition(partitionCount > 0, "a topic has at least one partition")
        return Int32(bitPattern: murmur2(key) & 0x7fff_ffff) % partitionCount
    }

    /// Kafka's murmur2 variant (seed 0x9747b28c), as `org.apache.kafka.common.utils.Utils.murmur2`.
    public static func murmur2(_ data: [UInt8]) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let length = data.count
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        var index = 0
        while index + 4 <= length {
            var k =
                UInt32(data[index]) | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2]) << 16
                | UInt32(data[index + 3]) << 24
            k = k &* m
            k ^= k >> 24
            k = k &* m
            h = h &* m
            h ^= k
            index += 4
        }
        let tail = length & ~3
        switch length % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}
