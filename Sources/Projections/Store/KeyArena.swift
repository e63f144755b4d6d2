import Foundation

/// Many keys laid end to end in one buffer, to be put in LMDB's key order: sorting them compares bytes in place,
/// with no array or string to retain and release per comparison (which, for a million keys, took longer than the
/// puts themselves).
struct KeyArena {
    private var bytes: [UInt8] = []
    /// Where key `i` starts; it ends where key `i + 1` starts.
    private var starts: [Int] = [0]

    init(expectedKeys: Int = 0, expectedBytes: Int = 0) {
        starts.reserveCapacity(expectedKeys + 1)
        bytes.reserveCapacity(expectedBytes)
    }

    var count: Int { starts.count - 1 }

    /// Adds the key that `build` appends to the buffer; its index is the count before.
    mutating func append(_ build: (inout [UInt8]) -> Void) {
        build(&bytes)
        starts.append(bytes.count)
    }

    /// Adds `key`.
    mutating func append(_ key: some Collection<UInt8>) {
        bytes.append(contentsOf: key)
        starts.append(bytes.count)
    }

    /// The indices of the keys in LMDB's default order: bytes (`memcmp`), then length. Stable: equal keys keep
    /// their order.
    func sortedIndices() -> [Int] {
        var order = Array(0..<count)
        bytes.withUnsafeBufferPointer { bytes in
            starts.withUnsafeBufferPointer { starts in
                let base = bytes.baseAddress
                order.sort { i, j in
                    let (x, xCount) = (starts[i], starts[i + 1] - starts[i])
                    let (y, yCount) = (starts[j], starts[j + 1] - starts[j])
                    let common = min(xCount, yCount)
                    let order = common == 0 ? 0 : memcmp(base! + x, base! + y, common)
                    return order != 0 ? order < 0 : xCount < yCount
                }
            }
        }
        return order
    }

    /// Calls `body` with the bytes of key `index`.
    @discardableResult
    func withKey<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[starts[index]..<starts[index + 1]]))
        }
    }
}
