import Crypto
import Events

extension Rule {
    /// The normal form of the rule: equal meaning, equal form (within what is cheap to decide).
    ///
    /// Strings are lower-cased (comparisons ignore case), `in` lists sorted and de-duplicated, nested groups of the
    /// same kind flattened, children of `and`/`or` sorted and de-duplicated, one-child groups and double negations
    /// removed.
    public var canonical: Rule {
        switch self {
        case .condition(let condition): return .condition(condition.canonical)
        case .not(let child):
            let inner = child.canonical
            if case .not(let twice) = inner { return twice }
            return .not(inner)
        case .and(let children): return Rule.group(children, isAnd: true)
        case .or(let children): return Rule.group(children, isAnd: false)
        }
    }

    private static func group(_ children: [Rule], isAnd: Bool) -> Rule {
        var flat: [Rule] = []
        for child in children.map(\.canonical) {
            switch (child, isAnd) {
            case (.and(let inner), true), (.or(let inner), false): flat.append(contentsOf: inner)
            default: flat.append(child)
            }
        }
        var seen: Set<String> = []
        let sorted = flat.map { ($0.json.jsonText, $0) }.sorted { $0.0 < $1.0 }.filter { seen.insert($0.0).inserted }
        if sorted.count == 1 { return sorted[0].1 }
        return isAnd ? .and(sorted.map(\.1)) : .or(sorted.map(\.1))
    }

    /// The canonical form as compact JSON text.
    public var canonicalText: String { canonical.json.jsonText }

    /// SHA-256 of the canonical text, hex: equal rules hash equally.
    public var fingerprint: String {
        SHA256.hash(data: Array(canonicalText.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

extension Condition {
    var canonical: Condition {
        var result = self
        if field.kind == .string || field.kind == .tags || field.kind == .attribute {
            result.operands = operands.map { operand in
                if case .string(let text) = operand { return .string(text.lowercased()) }
                return operand
            }
        }
        if op.arity == .list {
            var seen: Set<String> = []
            result.operands = result.operands.map { ($0.json.jsonText, $0) }.sorted { $0.0 < $1.0 }
                .filter { seen.insert($0.0).inserted }.map(\.1)
        }
        return result
    }
}
