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
        var utf8 = Array(lexeme.utf8)[...]
        var negative = false
        if utf8.first == UInt8(ascii: "-") {
            negative = true
            utf8 = utf8.dropFirst()
        }
        var digits: [UInt8] = []
        var fractionCount = 0
        var seenPoint = false
        var exponent = 0
        while let byte = utf8.first {
            utf8 = utf8.dropFirst()
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits.append(byte - 0x30)
                if seenPoint { fractionCount += 1 }
            case UInt8(ascii: "."):
                guard !seenPoint else { return .failure(.notANumber) }
                seenPoint = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                guard let value = Int(String(decoding: utf8, as: UTF8.self)), abs(value) < 1000 else {
                    return .failure(.notANumber)
                }
                exponent = value
                utf8 = utf8[utf8.endIndex...]
            default:
                return .failure(.notANumber)
            }
        }
        guard !digits.isEmpty else { return .failure(.notANumber) }
        // value = digits × 10^(exponent − fractionCount); scaled units = digits × 10^(shift).
        var shift = exponent - fractionCount + fractionDigits
        // Trailing zeros below the unit do not count as fraction digits: 1.50000 is fine.
        while shift < 0, let last = digits.last, last == 0 {
            digits.removeLast()
            shift += 1
        }
        if shift < 0 {
            return digits.allSatisfy({ $0 == 0 }) ? .success(.zero) : .failure(.tooManyFractionDigits)
        }
        var units: Int64 = 0
        for digit in digits {
            let (times10, overflow1) = units.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return .failure(.outOfRange) }
            units = sum
        }
        for _ in 0..<shift where units != 0 {
            let (times10, overflow) = units.multipliedReportingOverflow(by: 10)
            guard !overflow else { return .failure(.outOfRange) }
            units = times10
        }
        return .success(Money(units: negative ? -units : units))
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
