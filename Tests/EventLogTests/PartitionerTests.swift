import EventLog
import Testing

@Suite("murmur2 partitioner")
struct PartitionerTests {
    /// Vectors from Apache Kafka's `UtilsTest.testMurmur2` (the Java client's reference implementation).
    @Test("matches the Java client's murmur2 on its published vectors")
    func javaVectors() {
        let vectors: [(String, Int32)] = [
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            ("abc", 479470107),
        ]
        for (key, expected) in vectors {
            #expect(Int32(bitPattern: Partitioner.murmur2(Array(key.utf8))) == expected, "murmur2(\(key))")
        }
    }

    @Test("partitions are in range and stable")
    func partitionsInRange() {
        for index in 0..<1000 {
            let key = Array("customer-\(index)".utf8)
            let partition = Partitioner.partition(forKey: key, partitionCount: 7)
            #expect((0..<7).contains(partition))
            #expect(partition == Partitioner.partition(forKey: key, partitionCount: 7))
        }
    }
}
