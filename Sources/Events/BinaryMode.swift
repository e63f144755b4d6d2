/// The Kafka protocol binding's binary mode: attributes in `ce_*` headers, `data` as the message value.
extension CloudEvent {
    /// The header prefix of binary-mode attributes.
    public static let headerPrefix = "ce_"

    /// Decodes a binary-mode message. Header values are UTF-8 strings; the value is the JSON `data`.
    public static func decode(
        binaryHeaders headers: [(name: String, value: [UInt8])], value: some Collection<UInt8>
    ) -> Result<CloudEvent, EventValidationError> {
        var envelope = JSONObject()
        var problems: [ValidationProblem] = []
        for header in headers {
            let name: String
            if header.name == "content-type" {
                name = "datacontenttype"
            } else if header.name.hasPrefix(headerPrefix) {
                name = String(header.name.dropFirst(headerPrefix.count))
            } else {
                continue
            }
            guard let text = String(validating: header.value, as: UTF8.self) else {
                problems.append(ValidationProblem(pointer: "/\(name)", message: "header is not valid UTF-8"))
                continue
            }
            envelope[name] = .string(text)
        }
        do {
            envelope["data"] = try JSONParser.parse(value)
        } catch {
            problems.append(ValidationProblem(pointer: "/data", message: error.description))
        }
        guard problems.isEmpty else { return .failure(EventValidationError(problems)) }
        return validate(envelope: .object(envelope))
    }

    /// Whether a message with these headers is in binary mode (it carries `ce_specversion`).
    public static func isBinaryMode(headers: [(name: String, value: [UInt8])]) -> Bool {
        headers.contains { $0.name == binaryModeMarker }
    }

    /// The header whose presence makes a record binary mode.
    public static let binaryModeMarker = "ce_specversion"

    /// The binary-mode encoding: `ce_*` headers plus `content-type`, and `data` as the value.
    public func binaryEncoding() -> (headers: [(name: String, value: [UInt8])], value: [UInt8]) {
        var headers: [(name: String, value: [UInt8])] = [
            ("ce_specversion", Array("1.0".utf8)),
            ("ce_id", Array(id.utf8)),
            ("ce_source", Array(source.utf8)),
            ("ce_type", Array(type.rawValue.utf8)),
            ("content-type", Array(CloudEvent.dataContentType.utf8)),
        ]
        if let time { headers.append(("ce_time", Array(time.description.utf8))) }
        if let subject { headers.append(("ce_subject", Array(subject.utf8))) }
        for member in extensions {
            let text: String
            switch member.value {
            case .string(let string): text = string
            default: text = member.value.jsonText
            }
            headers.append(("ce_\(member.key)", Array(text.utf8)))
        }
        return (headers, JSONValue.object(data).serialized())
    }
}
