import Events
import Projections

/// A message template: text with `{{field}}` and `{{field|default}}` placeholders, checked once at campaign
/// creation (unknown variables and malformed braces are errors) and rendered per recipient.
public struct MessageTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case text(String)
        case variable(name: String, fallback: String?)
    }

    let parts: [Part]
    public let source: String

    /// The variables a template may use: profile fields, aggregates, and `attributes.<key>`.
    public static let variables = [
        "customer_id", "name", "first_name", "email", "phone", "city", "country", "total_spend", "order_count",
        "visit_count",
    ]
    /// Templates longer than this are rejected.
    public static let lengthMax = 4_096

    /// Why a template cannot be used, with the offending placeholder.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Parses and checks `source`.
    public init(_ source: String) throws(Problem) {
        guard !source.isEmpty else { throw Problem(description: "the template is empty") }
        guard source.utf8.count <= Self.lengthMax else {
            throw Problem(description: "the template is longer than \(Self.lengthMax) bytes")
        }
        var parts: [Part] = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw Problem(description: "\"{{\" without a closing \"}}\"")
            }
            let inside = rest[open.upperBound..<close.lowerBound]
            let pieces = inside.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            let name = pieces[0].trimmingSpaces
            guard Self.isKnown(name) else {
                let known = Self.variables.joined(separator: ", ")
                throw Problem(description: "unknown variable {{\(name)}}; known: \(known), attributes.<key>")
            }
            parts.append(.variable(name: name, fallback: pieces.count == 2 ? String(pieces[1]) : nil))
            rest = rest[close.upperBound...]
        }
        if rest.contains("}}") { throw Problem(description: "\"}}\" without an opening \"{{\"") }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
        self.source = source
    }

    static func isKnown(_ name: String) -> Bool {
        if variables.contains(name) { return true }
        guard name.hasPrefix("attributes.") else { return false }
        let key = name.dropFirst("attributes.".count)
        return !key.isEmpty && key.utf8.count <= 128
    }

    /// The variables the template uses, in order of first use.
    public var variableNames: [String] {
        var names: [String] = []
        for case .variable(let name, _) in parts where !names.contains(name) { names.append(name) }
        return names
    }

    /// The longest the rendered text can be when no value is longer than `widths` says (`defaultWidth` for
    /// variables not listed), in characters: what a channel's length limit is checked against.
    public func lengthBound(widths: [String: Int], defaultWidth: Int) -> Int {
        parts.reduce(0) { total, part in
            switch part {
            case .text(let text): total + text.count
            case .variable(let name, let fallback): total + max(widths[name] ?? defaultWidth, fallback?.count ?? 0)
            }
        }
    }

    /// The personalised text for `customer`; a missing value takes the placeholder's default, else "".
    public func render(_ customer: CustomerState) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .variable(let name, let fallback):
                let value = Self.value(name, of: customer)
                out += (value?.isEmpty == false ? value : nil) ?? fallback ?? ""
            }
        }
        return out
    }

    static func value(_ name: String, of customer: CustomerState) -> String? {
        switch name {
        case "customer_id": return customer.customerID
        case "name": return customer.name
        case "first_name": return customer.name.map { String($0.split(separator: " ").first ?? "") }
        case "email": return customer.email
        case "phone": return customer.phone
        case "city": return customer.city
        case "country": return customer.country
        case "total_spend": return customer.totalSpend.description
        case "order_count": return String(customer.orderCount)
        case "visit_count": return String(customer.visitCount)
        default:
            guard name.hasPrefix("attributes.") else { return nil }
            switch customer.attributes[String(name.dropFirst("attributes.".count))] {
            case .string(let text): return text
            case .number(let number): return number.lexeme
            case .bool(let flag): return flag ? "true" : "false"
            case nil: return nil
            }
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
