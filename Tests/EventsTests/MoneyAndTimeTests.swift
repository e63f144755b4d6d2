import Events
import Testing

@Suite("exact money")
struct MoneyTests {
    @Test(
        "parses decimal lexemes exactly",
        arguments: [
            ("0", 0), ("12", 120_000), ("12.5", 125_000), ("12.50000", 125_000), ("0.0001", 1), ("1e2", 1_000_000),
            ("1.25E1", 125_000), ("-3", -30_000), ("2499.5", 24_995_000), ("0e-9", 0), ("100e-4", 100),
        ] as [(String, Int64)])
    func parses(lexeme: String, units: Int64) throws {
        #expect(try Money.parse(lexeme).get() == Money(units: units))
    }

    @Test("refuses a fifth fraction digit and overflow")
    func refuses() {
        #expect(Money.parse("1.23456") == .failure(.tooManyFractionDigits))
        #expect(Money.parse("1e-5") == .failure(.tooManyFractionDigits))
        #expect(Money.parse("99999999999999999999") == .failure(.outOfRange))
        #expect(Money.parse("abc") == .failure(.notANumber))
    }

    @Test("sums are exact where Double is not")
    func exactSums() throws {
        var total = Money.zero
        for _ in 0..<10 { total = total + (try Money.parse("0.1").get()) }
        #expect(total == (try Money.parse("1").get()))
        #expect(total.description == "1.00")
        #expect(Money(units: 1).description == "0.0001")
        #expect(Money(units: -12_345).description == "-1.2345")
    }
}

@Suite("RFC 3339 timestamps")
struct TimestampTests {
    @Test("parses offsets, fractions and lower-case separators to the same instant")
    func parses() throws {
        let utc = try #require(Timestamp(rfc3339: "2024-05-01T04:30:00Z"))
        #expect(Timestamp(rfc3339: "2024-05-01T10:00:00+05:30") == utc)
        #expect(Timestamp(rfc3339: "2024-05-01t04:30:00z") == utc)
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00.000001Z")?.microseconds == 1)
        #expect(Timestamp(rfc3339: "1969-12-31T23:59:59.5Z")?.microseconds == -500_000)
        #expect(Timestamp(rfc3339: "2024-02-29T00:00:00Z") != nil)
        #expect(utc.description == "2024-05-01T04:30:00Z")
    }

    @Test(
        "rejects what RFC 3339 does not allow",
        arguments: [
            "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z", "2024-01-01T00:00:00", "2024-01-01 00:00:00Z", "2024-1-01T00:00:00Z",
            "0000-01-01T00:00:00Z", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00+2400", "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00Zjunk", "",
        ])
    func rejects(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test("formatting and parsing round-trip across eras")
    func roundTrip() {
        for micros: Int64 in [0, 1, -1, 1_700_000_000_123_456, -62_135_596_800_000_000, 253_402_300_799_999_999] {
            let timestamp = Timestamp(microseconds: micros)
            #expect(Timestamp(rfc3339: timestamp.description) == timestamp, "\(timestamp)")
        }
    }
}
