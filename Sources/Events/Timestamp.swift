/// A point in time with microsecond precision, parsed from and printed as RFC 3339.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public let microseconds: Int64

    /// A timestamp from microseconds since the Unix epoch.
    public init(microseconds: Int64) { self.microseconds = microseconds }

    /// A timestamp from milliseconds since the Unix epoch (Kafka's unit).
    public init(milliseconds: Int64) { self.microseconds = milliseconds * 1000 }

    /// Milliseconds since the Unix epoch, rounded down.
    public var milliseconds: Int64 { microseconds.floorDivided(by: 1000) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.microseconds < rhs.microseconds }

    /// Parses an RFC 3339 date-time (`2024-05-01T10:00:00Z`, `…T10:00:00.123+05:30`); `nil` when invalid.
    /// Leap seconds are rejected and fractions beyond microseconds are truncated.
    public init?(rfc3339 text: String) {
        var text = text
        guard let value = text.withUTF8({ Timestamp.parse($0) }) else { return nil }
        self = value
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for _ in 0..<count {
                let byte = bytes[index]
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
                index += 1
            }
            return value
        }
        // One or two accepted bytes, not a variadic list: that was an array per call, several per timestamp.
        func literal(_ accepted: UInt8, or alternative: UInt8? = nil) -> Bool {
            guard index < bytes.count, bytes[index] == accepted || bytes[index] == alternative else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), year > 0, literal(UInt8(ascii: "-")),
            let month = digits(2), (1...12).contains(month), literal(UInt8(ascii: "-")),
            let day = digits(2), day >= 1, day <= daysIn(month: month, year: year),
            literal(UInt8(ascii: "T"), or: UInt8(ascii: "t")),
            let hour = digits(2), hour < 24, literal(UInt8(ascii: ":")),
            let minute = digits(2), minute < 60, literal(UInt8(ascii: ":")),
            let second = digits(2), second < 60
        else { return nil }
        var micros = 0
        if literal(UInt8(ascii: ".")) {
            var count = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                if count < 6 { micros = micros * 10 + Int(bytes[index] - 0x30) }
                count += 1
                index += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 6) { micros *= 10 }
        }
        var offsetSeconds = 0
        if literal(UInt8(ascii: "Z"), or: UInt8(ascii: "z")) {
            offsetSeconds = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHour = digits(2), offsetHour < 24, literal(UInt8(ascii: ":")),
                let offsetMinute = digits(2), offsetMinute < 60
            else { return nil }
            offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        return Timestamp(microseconds: seconds * 1_000_000 + Int64(micros))
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// RFC 3339 in UTC: `2024-05-01T10:00:00Z`, with `.ffffff` only when there are sub-second digits.
    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the RFC 3339 text of `description` to `output` as UTF-8, without building a string.
    public func write(into output: inout [UInt8]) {
        let seconds = microseconds.floorDivided(by: 1_000_000)
        let micros = Int(microseconds - seconds * 1_000_000)
        let days = Int(seconds.floorDivided(by: 86_400))
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = Timestamp.civil(fromDays: days)
        func pad(_ value: Int, _ width: Int) {
            let text = String(value).utf8
            for _ in text.count..<max(text.count, width) { output.append(UInt8(ascii: "0")) }
            output.append(contentsOf: text)
        }
        func digits(_ value: Int, _ width: Int) {
            guard value >= 0, value < 1_000_000 else { return pad(value, width) }
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                output.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        if year >= 0 && year < 10_000 { digits(year, 4) } else { pad(year, 4) }
        output.append(UInt8(ascii: "-"))
        digits(month, 2)
        output.append(UInt8(ascii: "-"))
        digits(day, 2)
        output.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2)
        output.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2)
        output.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        if micros != 0 {
            var fraction = micros
            var width = 6
            while fraction % 10 == 0 {
                fraction /= 10
                width -= 1
            }
            output.append(UInt8(ascii: "."))
            digits(fraction, width)
        }
        output.append(UInt8(ascii: "Z"))
    }
}

extension Timestamp {
    /// Midnight UTC at the start of a calendar day.
    public init(year: Int, month: Int, day: Int) {
        self.init(microseconds: Int64(Timestamp.daysFromCivil(year: year, month: month, day: day)) * 86_400_000_000)
    }

    /// The UTC calendar date this instant falls on.
    public var calendarDate: (year: Int, month: Int, day: Int) {
        Timestamp.civil(fromDays: Int(microseconds.floorDivided(by: 86_400_000_000)))
    }
}

extension Int64 {
    /// Division rounding toward negative infinity.
    public func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
