/// Turns the field specs into JSON Schema (draft 2020-12) documents, the files in `schemas/`.
public enum JSONSchemaWriter {
    /// The dialect every generated schema declares.
    public static let dialect = "https://json-schema.org/draft/2020-12/schema"

    /// The `$id` of the schema for one event type's `data`.
    public static func dataSchemaID(_ type: EventType) -> String { "urn:cohort:schema:\(type.rawValue)" }
    /// The `$id` of the envelope schema.
    public static let envelopeSchemaID = "urn:cohort:schema:cloudevent"

    /// File name in `schemas/` for each document.
    public static func fileName(_ type: EventType) -> String { "\(type.rawValue).schema.json" }
    /// File name of the envelope schema.
    public static let envelopeFileName = "cloudevent.schema.json"

    /// What every money field's schema says about the check it leaves to Cohort.
    public static let moneyDescription =
        "An exact decimal amount with at most 4 fraction digits. The fraction-digit limit is checked by Cohort on "
        + "the number's text, not by this schema: binary floating point cannot evaluate it exactly."

    /// Every schema document keyed by file name.
    public static func allDocuments() -> [(fileName: String, document: JSONValue)] {
        [(envelopeFileName, envelopeSchema())] + EventType.allCases.map { (fileName($0), dataSchema($0)) }
    }

    /// The schema of one type's `data`.
    public static func dataSchema(_ type: EventType) -> JSONValue {
        var schema = JSONObject([
            ("$schema", .string(dialect)),
            ("$id", .string(dataSchemaID(type))),
            ("title", .string("data of \(type.rawValue)")),
        ])
        for member in objectSchema(type.dataSpec) { schema[member.key] = member.value }
        return .object(schema)
    }

    /// The envelope: CloudEvents attributes, extension attributes, and `data` chosen by `type`.
    public static func envelopeSchema() -> JSONValue {
        var schema = objectSchema(CloudEvent.envelopeSpec, closed: false)
        schema["patternProperties"] = .object(
            JSONObject([
                (
                    extensionPatternExcludingAttributes,
                    .object(
                        JSONObject([
                            ("type", .array([.string("string"), .string("number"), .string("boolean")])),
                            ("maxLength", number(1024)),
                        ]))
                )
            ]))
        schema["additionalProperties"] = .bool(false)
        let branches: [JSONValue] = EventType.allCases.map { type in
            .object(
                JSONObject([
                    (
                        "if",
                        .object(
                            JSONObject([
                                (
                                    "properties",
                                    .object(
                                        JSONObject([("type", .object(JSONObject([("const", .string(type.rawValue))])))])
                                    )
                                ),
                                ("required", .array([.string("type")])),
                            ]))
                    ),
                    (
                        "then",
                        .object(
                            JSONObject([
                                (
                                    "properties",
                                    .object(
                                        JSONObject([
                                            ("data", .object(JSONObject([("$ref", .string(dataSchemaID(type)))])))
                                        ]))
                                )
                            ]))
                    ),
                ]))
        }
        schema["allOf"] = .array(branches)
        var document = JSONObject([
            ("$schema", .string(dialect)),
            ("$id", .string(envelopeSchemaID)),
            ("title", .string("Cohort CloudEvent (structured mode)")),
        ])
        for member in schema { document[member.key] = member.value }
        return .object(document)
    }

    /// Extension names, minus the envelope's own attributes (which would otherwise match too).
    static var extensionPatternExcludingAttributes: String {
        let attributes = CloudEvent.envelopeSpec.fields.map(\.name).joined(separator: "|")
        return "^(?!(\(attributes))$)[a-z0-9]{1,20}$"
    }

    private static func number(_ value: Int64) -> JSONValue { .number(JSONNumber(value)) }

    private static func objectSchema(_ spec: ObjectSpec, closed: Bool = true) -> JSONObject {
        var properties = JSONObject()
        for field in spec.fields {
            var schema = kindSchema(field.kind)
            if field.isNullable {
                schema = JSONObject([
                    ("anyOf", .array([.object(schema), .object(JSONObject([("type", .string("null"))]))]))
                ])
            }
            properties[field.name] = .object(schema)
        }
        var object = JSONObject([("type", .string("object")), ("properties", .object(properties))])
        let required = spec.fields.filter(\.isRequired).map { JSONValue.string($0.name) }
        if !required.isEmpty { object["required"] = .array(required) }
        if closed { object["additionalProperties"] = .bool(false) }
        return object
    }

    private static func kindSchema(_ kind: FieldKind) -> JSONObject {
        switch kind {
        case .string(let minLength, let maxLength):
            var schema = JSONObject([("type", .string("string")), ("maxLength", number(Int64(maxLength)))])
            if minLength > 0 { schema["minLength"] = number(Int64(minLength)) }
            return schema
        case .identifier(let colonAllowed, let maxLength):
            var schema = JSONObject([
                ("type", .string("string")), ("minLength", number(1)),
                ("maxLength", number(Int64(maxLength))),
            ])
            schema["pattern"] = .string(FieldLimits.identifierPattern(colonAllowed: colonAllowed))
            return schema
        case .currency:
            return JSONObject([("type", .string("string")), ("pattern", .string("^[A-Z]{3}$"))])
        case .enumeration(let values):
            return JSONObject([("type", .string("string")), ("enum", .array(values.map(JSONValue.string)))])
        case .constant(let value):
            return JSONObject([("type", .string("string")), ("const", .string(value))])
        case .timestamp:
            return JSONObject([("type", .string("string")), ("format", .string("date-time"))])
        case .money:
            return JSONObject([
                ("type", .string("number")), ("minimum", number(0)),
                ("maximum", .number(JSONNumber(validLexeme: "1000000000000", isInteger: true))),
                // No `multipleOf: 0.0001`: validators that parse numbers as binary floats (Python `jsonschema`'s
                // default, ajv's) reject exact amounts such as 183.51 with it. The description carries the rule;
                // Cohort's validator checks it exactly on the number's text.
                ("description", .string(moneyDescription)),
            ])
        case .integer(let minimum, let maximum):
            return JSONObject([
                ("type", .string("integer")), ("minimum", number(minimum)), ("maximum", number(maximum)),
            ])
        case .boolean:
            return JSONObject([("type", .string("boolean"))])
        case .stringList(let maxItems, let itemMaxLength):
            return JSONObject([
                ("type", .string("array")), ("maxItems", number(Int64(maxItems))),
                ("items", .object(kindSchema(.string(minLength: 1, maxLength: itemMaxLength)))),
            ])
        case .attributes(let maxProperties):
            return JSONObject([
                ("type", .string("object")), ("maxProperties", number(Int64(maxProperties))),
                ("propertyNames", .object(JSONObject([("pattern", .string(FieldLimits.attributeKeyPattern))]))),
                (
                    "additionalProperties",
                    .object(
                        JSONObject([
                            ("type", .array([.string("string"), .string("number"), .string("boolean")])),
                            ("maxLength", number(Int64(FieldLimits.attributeStringLengthMax))),
                        ]))
                ),
            ])
        case .anyObject:
            return JSONObject([("type", .string("object"))])
        case .objectList(let maxItems, let itemSpec):
            return JSONObject([
                ("type", .string("array")), ("maxItems", number(Int64(maxItems))),
                ("items", .object(objectSchema(itemSpec))),
            ])
        }
    }
}
