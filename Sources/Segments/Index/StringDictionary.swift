/// Interned strings in one byte arena with an open-addressing table: a compact map between strings and dense
/// codes `1...count` (0 means "no value"). A million e-mail addresses cost their bytes plus 12 bytes each,
/// instead of a heap object and a hash-table entry each.
struct StringDictionary: Sendable {
    /// Entry `code` is `bytes[starts[code - 1]..<starts[code]]`.
    private var bytes: [UInt8] = []
    private var starts: [UInt32] = [0]
    /// Codes by hash slot; 0 is empty. The capacity is a power of two, kept at least twice the count.
    private var slots = [UInt32](repeating: 0, count: 16)

    /// Entries interned.
    var count: Int { starts.count - 1 }

    /// The code of `text`, or nil when it was never interned.
    func code(of text: String) -> UInt32? {
        var text = text
        return text.withUTF8 { find($0).code }
    }

    /// The code of `text`, interning it if new.
    mutating func intern(_ text: String) -> UInt32 {
        var text = text
        return text.withUTF8 { utf8 in
            let (found, slot) = find(utf8)
            if let found { return found }
            precondition(bytes.count + utf8.count < UInt32.max, "string arena over 4 GiB")
            bytes.append(contentsOf: utf8)
            starts.append(UInt32(bytes.count))
            let code = UInt32(count)
            slots[slot] = code
            if count * 2 > slots.count { grow() }
            return code
        }
    }

    /// Room for `entries` entries without growing the table on the way (an index built from the store knows how
    /// many customer ids come).
    mutating func reserveCapacity(_ entries: Int) {
        starts.reserveCapacity(entries + 1)
        // Bytes for the entries to come at the length of those so far.
        if count > 0 && entries > count {
            bytes.reserveCapacity(bytes.count + (entries - count) * (bytes.count / count + 1))
        }
        var size = slots.count
        while size < entries * 2 + 2 { size *= 2 }
        if size > slots.count {
            slots = [UInt32](repeating: 0, count: size / 2)
            grow()
        }
    }

    /// The bytes of entry `code`.
    func withBytes<R>(_ code: UInt32, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let start = Int(starts[Int(code) - 1])
        let end = Int(starts[Int(code)])
        return bytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    /// The entry `code` as a string.
    func string(_ code: UInt32) -> String { withBytes(code) { String(decoding: $0, as: UTF8.self) } }

    /// A table over codes `0...count`: true where `test` holds for the entry's bytes (code 0 is always false).
    func matching(_ test: (UnsafeBufferPointer<UInt8>) -> Bool) -> [Bool] {
        var result = [Bool](repeating: false, count: count + 1)
        bytes.withUnsafeBufferPointer { arena in
            starts.withUnsafeBufferPointer { starts in
                for code in 1..<max(1, starts.count) {
                    let entry = UnsafeBufferPointer(rebasing: arena[Int(starts[code - 1])..<Int(starts[code])])
                    result[code] = test(entry)
                }
            }
        }
        return result
    }

    var byteCount: Int { bytes.capacity + starts.capacity * 4 + slots.capacity * 4 }

    private func find(_ utf8: UnsafeBufferPointer<UInt8>) -> (code: UInt32?, slot: Int) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: Self.hash(utf8)) & mask
        return bytes.withUnsafeBufferPointer { arena in
            while true {
                let code = slots[slot]
                if code == 0 { return (nil, slot) }
                let start = Int(starts[Int(code) - 1])
                let end = Int(starts[Int(code)])
                if end - start == utf8.count
                    && (utf8.isEmpty || memcmpEqual(arena.baseAddress! + start, utf8.baseAddress!, utf8.count))
                {
                    return (code, slot)
                }
                slot = (slot + 1) & mask
            }
        }
    }

    private mutating func grow() {
        var fresh = [UInt32](repeating: 0, count: slots.count * 2)
        let mask = fresh.count - 1
        for code in UInt32(1)..<UInt32(starts.count) {
            var slot = withBytes(code) { Int(truncatingIfNeeded: Self.hash($0)) } & mask
            while fresh[slot] != 0 { slot = (slot + 1) & mask }
            fresh[slot] = code
        }
        slots = fresh
    }

    /// FNV-1a, 64 bit.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}

private func memcmpEqual(_ lhs: UnsafePointer<UInt8>, _ rhs: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    for index in 0..<count where lhs[index] != rhs[index] { return false }
    return true
}

extension UnsafeBufferPointer<UInt8> {
    /// True when `needle` occurs in these bytes.
    func contains(bytes needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard needle.count <= count else { return false }
        let first = needle[0]
        var index = 0
        while index + needle.count <= count {
            if self[index] == first {
                var matched = true
                for offset in 1..<needle.count where self[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return true }
            }
            index += 1
        }
        return false
    }

    /// True when these bytes begin with `prefix`.
    func starts(withBytes prefix: [UInt8]) -> Bool {
        guard prefix.count <= count else { return false }
        for index in prefix.indices where self[index] != prefix[index] { return false }
        return true
    }
}
