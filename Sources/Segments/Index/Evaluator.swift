import Events

extension IndexStorage {
    /// The rows of live customers matching `rule` at `asOf`.
    func evaluate(_ rule: Rule, asOf: Timestamp) -> Bitset {
        var result = node(rule, asOf: asOf)
        result.formIntersection(alive)
        return result
    }

    private func node(_ rule: Rule, asOf: Timestamp) -> Bitset {
        switch rule {
        case .and(let children):
            var result = node(children[0], asOf: asOf)
            for child in children.dropFirst() { result.formIntersection(node(child, asOf: asOf)) }
            return result
        case .or(let children):
            var result = node(children[0], asOf: asOf)
            for child in children.dropFirst() { result.formUnion(node(child, asOf: asOf)) }
            return result
        case .not(let child):
            // A condition on a missing value is false, so its negation is true: complement within live rows.
            var result = node(child, asOf: asOf)
            result.formComplement(within: alive)
            return result
        case .condition(let condition):
            return evaluate(ConditionPlan(condition, asOf: asOf))
        }
    }

    private func evaluate(_ plan: ConditionPlan) -> Bitset {
        var result = Bitset(count: rowCount)
        switch plan.test {
        case .numeric(let column, let ranges):
            numbers[column.rawValue].withUnsafeBufferPointer { values in
                if ranges.ranges.count == 1 {
                    result.fillInRange(values, buckets: buckets[column.rawValue], ranges.ranges[0])
                } else if !ranges.ranges.isEmpty {
                    result.fill { row in values[row] != missingValue && ranges.contains(values[row]) }
                }
            }
        case .numericPresent(let column, let present):
            numbers[column.rawValue].withUnsafeBufferPointer { values in
                result.fillInRange(values, RangeSet.lowest...Int64.max)
            }
            if !present { result.formComplement(within: alive) }
        case .string(let source, let test):
            let table = matchTable(source, test)
            table.withUnsafeBufferPointer { table in
                switch source {
                case .customerID: result.fill { row in table[row + 1] }
                case .column(let column):
                    stringCodes[column.rawValue].withUnsafeBufferPointer { codes in result.fillFromCodes(codes, table) }
                }
            }
        case .stringPresent(let source, let present):
            switch source {
            case .customerID: result = present ? alive : Bitset(count: rowCount)
            case .column(let column):
                stringCodes[column.rawValue].withUnsafeBufferPointer { codes in
                    result.fill { row in (codes[row] != 0) == present }
                }
            }
        case .tags(let needles, let negated):
            for needle in needles {
                guard let code = tags.dictionary.code(of: needle), Int(code) < tags.postings.count else { continue }
                for row in tags.postings[Int(code)] { result[Int(row)] = true }
            }
            if negated { result.formComplement(within: alive) }
        case .tagsPresent(let present):
            tags.count.withUnsafeBufferPointer { counts in result.fill { row in (counts[row] != 0) == present } }
        case .attribute(let key, let test):
            guard let column = attributes[key] else { break }
            let table = [false] + column.values.map(test.matches)
            table.withUnsafeBufferPointer { table in
                column.codes.withUnsafeBufferPointer { codes in result.fillFromCodes(codes, table) }
            }
        case .attributePresent(let key, let present):
            if let column = attributes[key] {
                column.codes.withUnsafeBufferPointer { codes in result.fill { row in codes[row] != 0 } }
            }
            if !present { result.formComplement(within: alive) }
        }
        return result
    }

    /// For each dictionary code, whether its value passes `test` (code 0, no value, never does).
    private func matchTable(_ source: StringSource, _ test: StringTest) -> [Bool] {
        switch source {
        case .customerID:
            // Ids are stored exactly as given (they are identities); fold case while testing.
            var folded: [UInt8] = []
            return ids.matching { bytes in
                folded.removeAll(keepingCapacity: true)
                if bytes.allSatisfy({ $0 < 0x80 }) {
                    for byte in bytes { folded.append(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte) }
                } else {
                    folded.append(contentsOf: String(decoding: bytes, as: UTF8.self).lowercased().utf8)
                }
                return folded.withUnsafeBufferPointer { test.matches($0) }
            }
        case .column(let column):
            let dictionary = strings[column.rawValue]
            guard test.isEquality || test.isInequality else { return dictionary.matching(test.matches) }
            // Equality needs only the needles' codes, not a pass over every distinct value.
            var table = [Bool](repeating: test.isInequality, count: dictionary.count + 1)
            table[0] = false
            for needle in test.needles {
                if let code = dictionary.code(of: String(decoding: needle, as: UTF8.self)) {
                    table[Int(code)] = test.isEquality
                }
            }
            return table
        }
    }
}

typealias StringSource = ConditionPlan.StringSource
