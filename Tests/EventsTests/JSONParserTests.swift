import Events
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    @Test("parses every JSON kind and keeps number lexemes exactly")
    func parsesValues() throws {
        let value = try JSONParser.parse(#"{"a":[1,-2.50,3e2,true,false,null],"b":{"c":"d\n\u00e9\ud83d\ude00"}}"#)
        guard case .object(let object) = value, case .array(let array) = object["a"] else {
            Issue.record("expected an object with an array")
            return
        }
        #expect(array.count == 6)
        #expect(array[1] == .number(try #require(numberLexeme("-2.50"))))
        #expect(object["b"]?.objectValue?["c"] == .string("d\né😀"))
    }

    private func numberLexeme(_ text: String) -> JSONNumber? {
        if case .number(let number) = try? JSONParser.parse(text) { return number }
        return nil
    }

    @Test("integers and non-integers are told apart by their lexeme")
    func integerness() {
        #expect(numberLexeme("12")?.isInteger == true)
        #expect(numberLexeme("12.0")?.isInteger == false)
        #expect(numberLexeme("1e2")?.isInteger == false)
        #expect(numberLexeme("9223372036854775807")?.int64Value == .max)
        #expect(numberLexeme("9223372036854775808")?.int64Value == nil)
    }

    @Test(
        "rejects malformed input with the offset of the problem",
        arguments: [
            "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "+1", ".5", "1e", "\"unterminated", "tru", "nul",
            "{\"a\" 1}", "[1 2]", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"tab\there\"", "{} {}", "NaN",
            "{\"a\":1,\"a\":2}",
        ])
    func rejectsMalformed(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
    }

    @Test("rejects invalid UTF-8")
    func rejectsInvalidUTF8() throws {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0x61, 0xFF, 0x22]) }
        // Overlong encodings and lone surrogates written as UTF-8 are invalid too.
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0xC0, 0xAF, 0x22]) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }
        // ASCII and valid multi-byte text come back exactly (the two take different paths).
        #expect(try JSONParser.parse(#""plain ascii""#) == .string("plain ascii"))
        #expect(try JSONParser.parse(Array("\"Pune ₹ é 😀\"".utf8)) == .string("Pune ₹ é 😀"))
    }

    @Test("nesting beyond the limit is an error, not a stack overflow")
    func depthLimit() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect(throws: Never.self) { try JSONParser.parse(fine) }
    }

    @Test("serialising and parsing round-trips, escaping what must be escaped")
    func roundTrip() throws {
        let original = JSONValue.object(
            JSONObject([
                ("text", .string("quote \" backslash \\ newline \n control \u{01} unicode ü😀")),
                ("list", .array([.number(JSONNumber(7)), .null, .bool(true)])),
            ]))
        let text = original.jsonText
        #expect(try JSONParser.parse(text) == original)
        #expect(text.contains("\\u0001"))
    }
}
