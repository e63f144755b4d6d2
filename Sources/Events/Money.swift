/// An exact amount of money in fixed point with four fraction digits. Never a binary floating-point number.
public struct Money: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Fraction digits kept: the SPEC allows at most four.
    public static let fractionDigits = 4
    /// Units per whole currency unit (10^4).
    public static let scale: Int64 = 10_000
    /// The largest amount an event may carry; keeps sums of many orders far from overflow.
    public static let maximum = Money(units: 1_000_000_000_000 * scale)

    /// The amount in ten-thousandths of the currency unit.
    public let units: Int64

    /// An amount of `units` ten-thousandths.
    public init(units: Int64) { self.units = units }

    /// Zero.
    public static let zero = Money(units: 0)

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.units < rhs.units }
    public static func + (lhs: Money, rhs: Money) -> Money { Money(units: lhs.units + rhs.units) }
    public static func - (lhs: Money, rhs: Money) -> Money { Money(units: lhs.units - rhs.units) }

    /// Why a decimal text is not an acceptable amount.
    public enum ParseError: Error, Sendable, Equatable {
        case notANumber
        case tooManyFractionDigits
        case outOfRange
    }

    /// Parses a JSON number lexeme exactly (`12`, `12.5`, `1.25e2`, `-3`).
    public static func parse(_ lexeme: String) -> Result<Money, ParseError> {
        var lexeme = lexeme
        return lexeme.withUTF8 { parse(utf8: $0) }
    }

    /// `parse` on the lexeme's bytes, without allocating: the event scanner reads amounts straight from a record.
    static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Result<Money, ParseError> {
        var index = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { index += 1 }
        // The mantissa: digits with at most one point.
        let mantissaStart = index
        var digitCount = 0
        var fractionCount = 0
        var seenPoint = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digitCount += 1
                if seenPoint { fractionCount += 1 }
            } else if byte == UInt8(ascii: ".") {
                guard !seenPoint else { return .failure(.notANumber) }
                seenPoint = true
            } else {
                break
            }
            index += 1
        }
        let mantissaEnd = index
        var exponent = 0
        if index < bytes.count {
            guard bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E"),
                let value = smallInteger(UnsafeBufferPointer(rebasing: bytes[(index + 1)...]))
            else { return .failure(.notANumber) }
            exponent = value
        }
        guard digitCount > 0 else { return .failure(.notANumber) }
        // value = digits × 10^(exponent − fractionCount); scaled units = digits × 10^(shift).
        var shift = exponent - fractionCount + fractionDigits
        // Trailing zeros below the unit do not count as fraction digits: 1.50000 is fine.
        var kept = digitCount
        var back = mantissaEnd
        while shift < 0 && back > mantissaStart {
            back -= 1
            let byte = bytes[back]
            if byte == UInt8(ascii: ".") { continue }
            guard byte == UInt8(ascii: "0") else { break }
            kept -= 1
            shift += 1
        }
        var units: Int64 = 0
        var taken = 0
        var position = mantissaStart
        while taken < kept {
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: ".") { continue }
            taken += 1
            let (times10, overflow1) = units.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(byte - 0x30))
            guard !overflow1, !overflow2 else {
                return shift < 0 ? .failure(.tooManyFractionDigits) : .failure(.outOfRange)
            }
            units = sum
        }
        if shift < 0 { return units == 0 ? .success(.zero) : .failure(.tooManyFractionDigits) }
        for _ in 0..<shift where units != 0 {
            let (times10, overflow) = units.multipliedReportingOverflow(by: 10)
            guard !overflow else { return .failure(.outOfRange) }
            units = times10
        }
        return .success(Money(units: negative ? -units : units))
    }

    /// An optionally signed decimal integer with magnitude below 1000, as `Int(text)` would read it; nil otherwise.
    private static func smallInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var index = 0
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            index = 1
        }
        guard index < bytes.count else { return nil }
        var value = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - 0x30)
            guard value < 1000 else { return nil }
            index += 1
        }
        return negative ? -value : value
    }

    /// Plain decimal text with at least two fraction digits: `12.50`, `0.0001`, `-3.00`.
    public var description: String {
        let magnitude = units.magnitude
        let whole = magnitude / UInt64(Money.scale)
        var fraction = String(magnitude % UInt64(Money.scale))
        fraction = String(repeating: "0", count: Money.fractionDigits - fraction.count) + fraction
        while fraction.count > 2 && fraction.hasSuffix("0") { fraction.removeLast() }
        return (units < 0 ? "-" : "") + "\(whole).\(fraction)"
    }
}
