/// A validated CloudEvents 1.0 event of one of Cohort's types.
public struct CloudEvent: Sendable, Equatable {
    /// Unique per event; projections ignore repeats.
    public var id: String
    /// Who produced it (a URI-reference such as `/shop/checkout`).
    public var source: String
    /// Which of Cohort's event types it is.
    public var type: EventType
    /// When it happened; when absent the log's append time stands in.
    public var time: Timestamp?
    /// Optional subject of the event.
    public var subject: String?
    /// The `data` member, already checked against `type.dataSpec`.
    public var data: JSONObject
    /// CloudEvents extension attributes (lower-case alphanumeric names).
    public var extensions: JSONObject

    /// Builds an event and checks it as `decode` would.
    public static func make(
        id: String, source: String, type: EventType, time: Timestamp? = nil, subject: String? = nil,
        data: JSONObject, extensions: JSONObject = JSONObject()
    ) -> Result<CloudEvent, EventValidationError> {
        let event = CloudEvent(
            id: id, source: source, type: type, time: time, subject: subject, data: data, extensions: extensions)
        return validate(envelope: .object(event.envelope))
    }

    private init(
        id: String, source: String, type: EventType, time: Timestamp?, subject: String?, data: JSONObject,
        extensions: JSONObject
    ) {
        self.id = id
        self.source = source
        self.type = type
        self.time = time
        self.subject = subject
        self.data = data
        self.extensions = extensions
    }

    /// The message key: the entity id named by `type.keyField`.
    public var key: String { data[type.keyField]?.stringValue ?? "" }

    /// The structured-mode JSON envelope.
    public var envelope: JSONObject {
        var object = JSONObject([
            ("specversion", .string("1.0")),
            ("id", .string(id)),
            ("source", .string(source)),
            ("type", .string(type.rawValue)),
        ])
        if let time { object["time"] = .string(time.description) }
        if let subject { object["subject"] = .string(subject) }
        object["datacontenttype"] = .string(CloudEvent.dataContentType)
        for member in extensions { object[member.key] = member.value }
        object["data"] = .object(data)
        return object
    }

    /// The structured-mode encoding: the JSON envelope as bytes.
    /// Written member by member in `envelope`'s order, without building it: ingest writes every event it accepts.
    public func structuredBytes() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(384)
        output.append(contentsOf: #"{"specversion":"1.0","id":"#.utf8)
        JSONValue.writeString(id, into: &output)
        output.append(contentsOf: #","source":"#.utf8)
        JSONValue.writeString(source, into: &output)
        output.append(contentsOf: #","type":"#.utf8)
        JSONValue.writeString(type.rawValue, into: &output)
        if let time {
            output.append(contentsOf: #","time":""#.utf8)
            time.write(into: &output)
            output.append(UInt8(ascii: "\""))
        }
        if let subject {
            output.append(contentsOf: #","subject":"#.utf8)
            JSONValue.writeString(subject, into: &output)
        }
        output.append(contentsOf: #","datacontenttype":"application/json""#.utf8)
        for member in extensions {
            output.append(UInt8(ascii: ","))
            JSONValue.writeString(member.key, into: &output)
            output.append(UInt8(ascii: ":"))
            member.value.write(into: &output)
        }
        output.append(contentsOf: #","data":"#.utf8)
        JSONValue.object(data).write(into: &output)
        output.append(UInt8(ascii: "}"))
        return output
    }

    /// The content type of `data` (the only one Cohort accepts).
    public static let dataContentType = "application/json"
    /// Content type of a structured-mode message.
    public static let structuredContentType = "application/cloudevents+json"

    static let envelopeSpec = ObjectSpec([
        FieldSpec("specversion", .constant("1.0"), required: true),
        FieldSpec("id", .identifier(colonAllowed: true), required: true),
        FieldSpec("source", .string(minLength: 1, maxLength: 1024), required: true),
        FieldSpec("type", .enumeration(EventType.allCases.map(\.rawValue)), required: true),
        FieldSpec("time", .timestamp),
        FieldSpec("subject", .string(maxLength: 1024)),
        FieldSpec("datacontenttype", .constant(dataContentType)),
        FieldSpec("data", .anyObject, required: true),
    ])

    /// Parses and validates a structured-mode event.
    public static func decode(structured bytes: some Collection<UInt8>) -> Result<CloudEvent, EventValidationError> {
        do {
            return validate(envelope: try JSONParser.parse(bytes))
        } catch {
            return .failure(EventValidationError([ValidationProblem(pointer: "", message: error.description)]))
        }
    }

    /// Validates a parsed envelope, reporting every problem in it and in its `data`.
    public static func validate(envelope value: JSONValue) -> Result<CloudEvent, EventValidationError> {
        guard case .object(let object) = value else {
            return .failure(EventValidationError([ValidationProblem(pointer: "", message: "expected a JSON object")]))
        }
        var validator = Validator()
        var extensions = JSONObject()
        for member in object where envelopeSpec.index(of: member.key) == nil {
            if Validator.isExtensionName(member.key) {
                switch member.value {
                case .string:
                    validator.check(member.value, kind: .string(maxLength: 1024), at: Location("", member.key))
                case .number, .bool: break
                default: validator.report("/\(member.key)", "extension attributes are strings, numbers or booleans")
                }
                extensions[member.key] = member.value
            } else {
                validator.report("/\(member.key.jsonPointerEscaped)", "is not a CloudEvents attribute")
            }
        }
        validator.check(value, against: envelopeSpec, at: Location(""), ignoringUnknown: true)
        let type = object["type"]?.stringValue.flatMap(EventType.init(rawValue:))
        if let type, let data = object["data"], case .object = data {
            validator.check(data, against: type.dataSpec, at: Location("", "data"))
        }
        guard validator.problems.isEmpty, let type, let data = object["data"]?.objectValue else {
            return .failure(EventValidationError(validator.problems))
        }
        return .success(
            CloudEvent(
                id: object["id"]?.stringValue ?? "",
                source: object["source"]?.stringValue ?? "",
                type: type,
                time: object["time"]?.stringValue.flatMap(Timestamp.init(rfc3339:)),
                subject: object["subject"]?.stringValue,
                data: data,
                extensions: extensions))
    }
}

/// Why an event was rejected: every problem found, each with its JSON pointer.
public struct EventValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// All problems, in document order.
    public let problems: [ValidationProblem]

    /// An error listing `problems`.
    public init(_ problems: [ValidationProblem]) { self.problems = problems }

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}
