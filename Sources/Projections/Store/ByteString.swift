import Foundation

/// A string that hashes and compares by its UTF-8 bytes.
struct ByteString: Hashable, Sendable {
    let value: String

    init(_ value: String) { self.value = value }

    static func == (a: ByteString, b: ByteString) -> Bool {
        var (x, y) = (a.value, b.value)
        return x.withUTF8 { x in
            y.withUTF8 { y in
                x.count == y.count && (x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0)
            }
        }
    }

    func hash(into hasher: inout Hasher) {
        var value = value
        value.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
