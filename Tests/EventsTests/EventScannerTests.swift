import Foundation
import Testing

@testable import Events

/// The scanner is a fast lane in front of the parser and validator: whatever it accepts, they must accept with the
/// same result. These tests compare the two on plain events, on variants of every field kind, and on thousands of
/// mutants, and check that the scanner really takes the plain shapes (a scanner that always gave up would pass the
/// comparison and be useless).
@Suite("event scanner")
struct EventScannerTests {
    /// What the full decoder makes of `text`, reduced to essentials.
    static func full(_ bytes: [UInt8]) -> Result<EventEssentials, EventValidationError> {
        CloudEvent.decode(structured: bytes).map(\.essentials)
    }

    static func scan(_ bytes: [UInt8]) -> EventEssentials? {
        bytes.withUnsafeBytes(CloudEvent.scanEssentials(structured:))
    }

    static func envelope(_ type: String, _ data: String, extra: String = "") -> String {
        #"{"specversion":"1.0","id":"e-1","source":"/shop","type":"\#(type)","time":"2024-05-01T10:00:00.5+05:30"\#(extra),"data":\#(data)}"#
    }

    /// Plain events of every kind of field the scanner handles, each of which it must accept.
    static let plain: [String] = [
        envelope(
            "crm.customer.upserted",
            #"{"customer_id":"c-1","name":"Asha Rao","email":"a@x.in","phone":null,"city":"Pune","country":"IN","tags":["vip","app_user"],"attributes":{"plan":"gold","age":41,"score":-1.5e2,"beta":true,"off":false},"created_at":"2023-01-02T03:04:05Z"}"#
        ),
        envelope("crm.customer.upserted", #"{"customer_id":"c-2","tags":[],"attributes":{},"name":null}"#),
        envelope("crm.customer.upserted", #"{"customer_id":"c-3","tags":null,"attributes":null,"created_at":null}"#),
        envelope("crm.customer.erased", #"{"customer_id":"c-1"}"#),
        // Not only ASCII: lengths count Unicode scalars, as the validator does (200 two-byte letters fit a name).
        envelope("crm.customer.upserted", #"{"customer_id":"c-ü","name":"Zoë Añjali","city":"मुंबई","tags":["😀"]}"#),
        envelope(
            "crm.customer.upserted", "{\"customer_id\":\"c-4\",\"name\":\"\(String(repeating: "é", count: 200))\"}"),
        envelope(
            "crm.order.placed",
            #"{"order_id":"o-1","customer_id":"c-1","amount":2499.5,"currency":"INR","placed_at":"2024-05-01T04:30:00Z","items":[{"sku":"A","quantity":2,"price":1000},{"sku":"B","quantity":1,"price":499.50}],"channel":"app"}"#
        ),
        envelope("crm.order.placed", #"{"order_id":"o-2","customer_id":"c-1","amount":1.25e2,"items":[]}"#),
        // The same text as the event's `time` (parsed once), then text of the same length that differs.
        envelope(
            "crm.order.placed",
            #"{"order_id":"o-4","customer_id":"c-1","amount":5,"placed_at":"2024-05-01T10:00:00.5+05:30"}"#),
        envelope(
            "crm.order.placed",
            #"{"order_id":"o-5","customer_id":"c-1","amount":5,"placed_at":"2024-05-01T10:00:00.7+05:30"}"#),
        envelope("crm.order.placed", #"{"order_id":"o-3","customer_id":"c-1","amount":0}"#),
        envelope("crm.order.cancelled", #"{"order_id":"o-1","customer_id":"c-1","reason":"changed mind"}"#),
        envelope("crm.order.refunded", #"{"order_id":"o-1","customer_id":"c-1","amount":100.0001,"currency":"INR"}"#),
        envelope(
            "crm.visit.recorded",
            #"{"customer_id":"c-1","visited_at":"2024-05-01T10:00:00Z","channel":"web","page":"/p/1"}"#),
        envelope("crm.segment.deleted", #"{"segment_id":"s-1"}"#),
        envelope(
            "crm.campaign.launched", #"{"campaign_id":"k-1","audience_as_of":"2024-05-01T10:00:00Z","audience":12}"#),
        envelope("crm.campaign.paused", #"{"campaign_id":"k-1","reason":"budget"}"#),
        envelope("crm.campaign.completed", #"{"campaign_id":"k-1"}"#),
        envelope(
            "crm.message.queued",
            #"{"message_id":"k-1:c-1","campaign_id":"k-1","customer_id":"c-1","channel":"sms","attempt":0,"to":"+91 98","body":"Hi Asha"}"#
        ),
        envelope(
            "crm.message.sent",
            #"{"message_id":"k-1:c-1","campaign_id":"k-1","at":"2024-05-01T10:00:01Z","vendor_message_id":"v-9"}"#),
        envelope(
            "crm.message.failed",
            #"{"message_id":"k-1:c-1","campaign_id":"k-1","reason":"timeout","retryable":true,"attempt":5}"#),
        envelope("crm.message.receipt", #"{"message_id":"k-1:c-1","campaign_id":"k-1","status":"delivered"}"#),
        // Whitespace everywhere JSON allows it, members in another order, no `time`, a subject and content type.
        " \n{ \"specversion\" : \"1.0\" ,\r\"id\":\"e-3\",\"source\":\"/s\", \"type\":\"crm.customer.erased\",\n\"data\" : { \"customer_id\" : \"c-9\" } }\t",
        #"{"type":"crm.visit.recorded","id":"e-2","specversion":"1.0","source":"/s","subject":"c-1","datacontenttype":"application/json","data":{ "customer_id" : "c-1" , "page" : "/" }}"#,
        // Data members in the reverse of the spec's order (each name found by going round the table), and a string
        // whose first non-ASCII letter comes after its first eight bytes.
        envelope(
            "crm.visit.recorded",
            #"{"page":"/p/ünter","channel":"app","visited_at":"2024-05-01T10:00:00Z","customer_id":"c-1"}"#),
        envelope("crm.customer.upserted", #"{"customer_id":"c-1","name":"Annapoorna Iyer-Ümit","city":"Köln"}"#),
    ]

    @Test("takes every plain event and gives what the full decoder gives")
    func plainEvents() throws {
        for (index, text) in Self.plain.enumerated() {
            let bytes = Array(text.utf8)
            let event = try Self.full(bytes).get()
            let scanned = try #require(Self.scan(bytes), "plain event \(index) is taken by the scanner")
            #expect(scanned == event, "plain event \(index)")
            #expect(CloudEvent.decodeEssentials(structured: bytes) == .success(event))
        }
    }

    @Test("leaves escapes, extensions, rules and invalid input to the full decoder, which decides as before")
    func fallsBack() {
        let others = [
            Self.envelope("crm.visit.recorded", #"{"customer_id":"c-\u0031"}"#),
            Self.envelope(
                "crm.customer.upserted", "{\"customer_id\":\"c-4\",\"name\":\"\(String(repeating: "é", count: 201))\"}"),
            Self.envelope("crm.visit.recorded", #"{"customer_id":"c-1"}"#, extra: #","traceid":"abc""#),
            Self.envelope("crm.segment.saved", #"{"segment_id":"s-1","name":"n","rules":{"all":[]}}"#),
            Self.envelope("crm.order.placed", #"{"order_id":"o-1","customer_id":"c-1","amount":-1}"#),
            Self.envelope("crm.order.placed", #"{"order_id":"o-1","customer_id":"c-1","amount":1.00001}"#),
            Self.envelope("crm.visit.recorded", #"{"customer_id":"c-1","customer_id":"c-2"}"#),
            Self.envelope("crm.visit.recorded", #"{"customer_id":"c-1","extra":1}"#),
            Self.envelope("crm.visit.recorded", #"{"customer_id":""}"#),
            Self.envelope("crm.campaign.paused", #"{"campaign_id":"a:b"}"#),
            Self.envelope("crm.message.receipt", #"{"message_id":"k-1:c-1","campaign_id":"k-1","status":"lost"}"#),
            #"{"specversion":"1.0","id":"e","source":"/s","data":{"customer_id":"c"},"type":"crm.visit.recorded"}"#,
            Self.envelope("crm.visit.recorded", #"{"customer_id":"c-1"}"#) + "x",
            // Each limit of each kind, one past it.
            Self.envelope("crm.customer.upserted", #"{"customer_id":"c-1","tags":["vip",""]}"#),
            Self.envelope(
                "crm.customer.upserted", "{\"customer_id\":\"c-1\",\"tags\":[\"\(String(repeating: "t", count: 65))\"]}"
            ),
            Self.envelope("crm.visit.recorded", "{\"customer_id\":\"\(String(repeating: "c", count: 129))\"}"),
            Self.envelope(
                "crm.visit.recorded", "{\"customer_id\":\"c\",\"channel\":\"\(String(repeating: "w", count: 65))\"}"),
            Self.envelope("crm.customer.upserted", #"{"customer_id":"c-1","attributes":{"1a":1}}"#),
            Self.envelope("crm.customer.upserted", #"{"customer_id":"c-1","attributes":{"a":null}}"#),
            Self.envelope("crm.customer.upserted", #"{"customer_id":"c-1","attributes":{"a":1,"a":2}}"#),
            Self.envelope("crm.customer.upserted", #"{"customer_id":"c-1","created_at":"2023-02-29T00:00:00Z"}"#),
            Self.envelope("crm.order.placed", #"{"order_id":"o","customer_id":"c","amount":1000000000000.0001}"#),
            Self.envelope("crm.order.placed", #"{"order_id":"o","customer_id":"c","amount":"12"}"#),
            Self.envelope("crm.order.placed", #"{"order_id":"o","customer_id":"c","amount":1,"currency":"inr"}"#),
            Self.envelope(
                "crm.order.placed",
                #"{"order_id":"o","customer_id":"c","amount":1,"items":[{"sku":"a","quantity":0,"price":1}]}"#),
            Self.envelope(
                "crm.order.placed", #"{"order_id":"o","customer_id":"c","amount":1,"items":[{"sku":"a","quantity":1}]}"#
            ),
            Self.envelope("crm.campaign.launched", #"{"campaign_id":"k","audience":-1}"#),
            Self.envelope("crm.campaign.launched", #"{"campaign_id":"k","audience":1.0}"#),
            Self.envelope("crm.message.failed", #"{"message_id":"k:c","campaign_id":"k","retryable":1}"#),
            // Control characters in identifiers, raw (DEL, C1 NEL): the scanner leaves them to the validator.
            Self.envelope("crm.message.sent", "{\"message_id\":\"k:c\u{7F}\",\"campaign_id\":\"k\"}"),
            Self.envelope("crm.visit.recorded", "{\"customer_id\":\"c\u{85}1\"}"),
            Self.envelope("crm.customer.erased", #"{"customer_id":null}"#),
            // A member name that starts like a known one, and a known one spelled with an escape (which the full
            // decoder accepts): neither is matched in place.
            Self.envelope("crm.visit.recorded", #"{"customer_idx":"c-1"}"#),
            Self.envelope("crm.visit.recorded", #"{"customer\u005fid":"c-1"}"#),
            #"{"specversion":"1.0","idx":"e","id":"e","source":"/s","type":"crm.visit.recorded","data":{"customer_id":"c"}}"#,
            // An escape, and a raw control character, after a string's first eight bytes.
            Self.envelope("crm.visit.recorded", #"{"customer_id":"c-123456\u0037"}"#),
            Self.envelope("crm.visit.recorded", "{\"customer_id\":\"c-123456\t7\"}"),
        ]
        for text in others {
            let bytes = Array(text.utf8)
            #expect(Self.scan(bytes) == nil, "\(text)")
            #expect(CloudEvent.decodeEssentials(structured: bytes) == Self.full(bytes), "\(text)")
        }
    }

    @Test("bytes that are not UTF-8 are left to the full decoder, which rejects them")
    func invalidUTF8() {
        let prefix = Array(Self.envelope("crm.visit.recorded", #"{"customer_id":"c-1","page":"/x"#).utf8)
        for bad: [UInt8] in [[0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82]] {
            let bytes = prefix + bad + Array(#""}}"#.utf8)
            #expect(Self.scan(bytes) == nil)
            guard case .failure(let error) = CloudEvent.decodeEssentials(structured: bytes) else {
                Issue.record("invalid UTF-8 \(bad) was accepted")
                continue
            }
            #expect(error.description.contains("UTF-8"))
        }
    }

    @Test("on thousands of mutants, whatever the scanner takes the full decoder takes the same way")
    func mutants() {
        var random = SplitMix(seed: 7)
        let alphabet = Array(#"{}[]:,"\ -.0123456789eE+ntrufalsxZ:"#.utf8) + [0x00, 0x0A, 0xC3, 0xA9]
        var taken = 0
        var tried = 0
        for text in Self.plain {
            let original = Array(text.utf8)
            for _ in 0..<600 {
                var bytes = original
                for _ in 0..<(1 + Int(random.next() % 3)) {
                    let at = Int(random.next() % UInt64(bytes.count))
                    switch random.next() % 5 {
                    case 0: bytes[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                    case 1: bytes.remove(at: at)
                    case 2: bytes.removeSubrange(at..<min(bytes.count, at + 1 + Int(random.next() % 8)))
                    case 3: bytes.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                    default:
                        let end = min(bytes.count, at + 1 + Int(random.next() % 12))
                        bytes.insert(contentsOf: bytes[at..<end], at: at)
                    }
                    if bytes.isEmpty { bytes = [0x20] }
                }
                tried += 1
                guard let scanned = Self.scan(bytes) else { continue }
                taken += 1
                let expected = Self.full(bytes)
                #expect(expected == .success(scanned), "mutant: \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        // Some mutants stay valid and plain (a changed digit or letter): the comparison must have had material.
        #expect(taken > tried / 50, "the scanner took \(taken) of \(tried) mutants")
    }

    @Test("every truncation of every plain event, and random bytes, are refused without a crash")
    func truncationsAndNoise() {
        for text in Self.plain {
            let bytes = Array(text.utf8)
            for end in 0..<bytes.count {
                let truncated = Array(bytes[..<end])
                // A prefix of a valid event can be valid only by ending in whitespace after the last brace.
                if let scanned = Self.scan(truncated) { #expect(Self.full(truncated) == .success(scanned)) }
            }
        }
        var random = SplitMix(seed: 3)
        let alphabet = Array(#"{}[]:,"\ -.0123456789eE+-ntrufals"#.utf8) + [0x00, 0x80, 0xC3, 0xA9, 0xFF]
        for _ in 0..<20_000 {
            let bytes = (0..<Int(random.next() % 64)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            if let scanned = Self.scan(bytes) { #expect(Self.full(bytes) == .success(scanned)) }
        }
    }

    @Test("money read from bytes agrees with the reference reading on generated lexemes")
    func moneyFromBytes() {
        var random = SplitMix(seed: 11)
        let pieces = ["0", "1", "9", "00", "12", "5000", "99999999999", ".", "e", "E", "-", "+", "e-", "e+"]
        for _ in 0..<20_000 {
            var lexeme = random.next() % 5 == 0 ? "-" : ""
            for _ in 0..<(1 + Int(random.next() % 5)) { lexeme += pieces[Int(random.next() % UInt64(pieces.count))] }
            #expect(Money.parse(lexeme) == ReferenceMoney.parse(lexeme), "\(lexeme)")
        }
    }
}

/// A small deterministic generator, so a failure reproduces.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The earlier, allocating reading of a money lexeme, kept as the oracle for the byte reading that replaced it.
enum ReferenceMoney {
    static func parse(_ lexeme: String) -> Result<Money, Money.ParseError> {
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
        var shift = exponent - fractionCount + Money.fractionDigits
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
}
