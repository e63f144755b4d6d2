import Events
import Foundation

/// An offline, deterministic parser for the common ways people describe an audience: amounts with ₹, $, k, lakh
/// and crore; "more than / at least / under / between"; "inactive for 3 months"; "haven't ordered in 90 days";
/// "visited fewer than 3 times"; "in Mumbai or Pune"; "tagged vip"; "signed up this year"; and/or/not with
/// parentheses. Words it cannot place are reported, never guessed at.
public struct PhraseParser: RuleParser {
    /// The deployment currency, for the English rendering.
    public var currency: String
    /// The deployment's known cities and tags, recognised without a keyword ("Pune VIPs").
    public var vocabulary: PhraseVocabulary

    public init(currency: String = "INR", vocabulary: PhraseVocabulary = PhraseVocabulary()) {
        self.currency = currency
        self.vocabulary = vocabulary
    }

    public func parse(_ text: String, now: Timestamp) async throws -> ParsedRule { parseNow(text, now: now) }

    /// The synchronous form of `parse`.
    public func parseNow(_ text: String, now: Timestamp) -> ParsedRule {
        var state = PhraseState(tokens: Tokenizer.tokens(text), now: now, vocabulary: vocabulary)
        let rule = state.expression()
        while !state.atEnd { state.skipUnknown() }
        return ParsedRule(rule: rule, english: rule?.english(currency: currency) ?? "", unknownWords: state.unknown)
    }
}

/// Values of the deployment that a sentence may name bare: cities ("Kolkata customers") and tags ("vips",
/// "app users" for `app_user`, "newsletter subscribers").
public struct PhraseVocabulary: Sendable, Equatable {
    public var cities: [String]
    public var tags: [String]

    public init(cities: [String] = [], tags: [String] = []) {
        self.cities = cities
        self.tags = tags
    }
}

/// A word, number or symbol of the input; `text` is lower-cased, `original` as typed.
struct Token: Equatable {
    let text: String
    let original: String
    var number: Decimal? { text.first?.isNumber == true ? Decimal(string: text) : nil }
}

enum Tokenizer {
    static func tokens(_ input: String) -> [Token] {
        var result: [Token] = []
        var current = ""
        func flush() {
            guard !current.isEmpty else { return }
            // "5k", "2.5l": split a trailing magnitude letter off a number.
            if let last = current.last, "kml".contains(last.lowercased()), current.count > 1,
                current.dropLast().allSatisfy({ $0.isNumber || $0 == "." })
            {
                result.append(Token(text: String(current.dropLast()), original: String(current.dropLast())))
                result.append(Token(text: last.lowercased(), original: String(last)))
            } else {
                result.append(Token(text: current.lowercased(), original: current))
            }
            current = ""
        }
        var quote: Character?
        var index = input.startIndex
        while index < input.endIndex {
            let character = input[index]
            defer { index = input.index(after: index) }
            if let open = quote {
                if character == open {
                    result.append(Token(text: current.lowercased(), original: current))
                    current = ""
                    quote = nil
                } else {
                    current.append(character)
                }
                continue
            }
            switch character {
            case "\"", "“", "”":
                flush()
                quote = character == "“" ? "”" : character
            case "'", "’":
                // "haven't" → "havent"; a quote elsewhere is just dropped.
                continue
            case "(", ")", "₹", "$", "€", "£", ",", "&":
                // A comma inside a number ("10,000") is a digit separator.
                if character == ",", current.last?.isNumber == true,
                    input.index(after: index) < input.endIndex, input[input.index(after: index)].isNumber
                {
                    continue
                }
                flush()
                result.append(Token(text: String(character), original: String(character)))
            case "-"
            where current.last?.isNumber == true && current.allSatisfy({ $0.isNumber || $0 == "." })
                && input.index(after: index) < input.endIndex && input[input.index(after: index)].isNumber:
                // "2-5 orders": a range, not one token (a date such as 2024-03-01 keeps its dashes).
                if current.count == 4, current.allSatisfy(\.isNumber) {
                    current.append(character)
                } else {
                    flush()
                    result.append(Token(text: "-", original: "-"))
                }
            case ">", "<", "=":
                flush()
                var symbol = String(character)
                let next = input.index(after: index)
                if next < input.endIndex, input[next] == "=" {
                    symbol.append("=")
                    index = next
                }
                result.append(Token(text: symbol, original: symbol))
            default:
                if character.isWhitespace || character == "?" || character == "!" || character == ";" {
                    flush()
                } else if character == "." && !(current.last?.isNumber ?? false) && !current.contains("@") {
                    flush()  // sentence punctuation, but keep "2.5" and e-mail domains
                } else {
                    current.append(character)
                }
            }
        }
        if quote != nil { result.append(Token(text: current.lowercased(), original: current)) } else { flush() }
        return result
    }
}

/// Words that carry no meaning of their own here; they are skipped without being reported.
private let fillers: Set<String> = [
    "customers", "customer", "users", "user", "people", "shoppers", "clients", "members", "everyone", "anyone",
    "who", "that", "which", "whose", "have", "has", "had", "having", "with", "the", "all", "show", "me", "find",
    "list", "get", "give", "are", "is", "was", "were", "been", "a", "an", "of", "their", "them", "those", "these",
    "placed", "made", "total", "and", "&", ",", "but", "also", "both", "either", "please", "my", "our", "to", "be",
    "segment", "audience", "where", "whom", "any", "than", "something", "anything",
]

private let connectives: Set<String> = [
    "and", "or", "not", "(", ")", ",", "&", "but", "except", "excluding", "without",
]

/// The parser's cursor over the tokens.
struct PhraseState {
    let tokens: [Token]
    let now: Timestamp
    let vocabulary: PhraseVocabulary
    var position = 0
    var unknown: [String] = []

    init(tokens: [Token], now: Timestamp, vocabulary: PhraseVocabulary) {
        self.tokens = tokens
        self.now = now
        self.vocabulary = vocabulary
    }

    var atEnd: Bool { position >= tokens.count }

    func peek(_ offset: Int = 0) -> String? {
        position + offset < tokens.count ? tokens[position + offset].text : nil
    }

    /// True (and consumed) when the next tokens are `words`.
    mutating func accept(_ words: String...) -> Bool { acceptSequence(words) }

    mutating func acceptSequence(_ words: [String]) -> Bool {
        for (offset, word) in words.enumerated() where peek(offset) != word { return false }
        position += words.count
        return true
    }

    mutating func acceptAny(_ words: Set<String>) -> String? {
        guard let word = peek(), words.contains(word) else { return nil }
        position += 1
        return word
    }

    mutating func skipUnknown() {
        guard let token = tokens[safe: position] else { return }
        position += 1
        if !fillers.contains(token.text) && !connectives.contains(token.text) { unknown.append(token.original) }
    }

    // MARK: Boolean structure

    mutating func expression() -> Rule? {
        var terms: [Rule] = []
        if let first = term() { terms.append(first) }
        while accept("or") {
            if let next = term() { terms.append(next) }
        }
        return terms.count <= 1 ? terms.first : .or(terms)
    }

    mutating func term() -> Rule? {
        var factors: [Rule] = []
        while !atEnd, peek() != "or", peek() != ")" {
            let before = position
            if let factor = factor() {
                factors.append(factor)
            } else if position == before {
                skipUnknown()
            }
        }
        return factors.count <= 1 ? factors.first : .and(factors)
    }

    mutating func factor() -> Rule? {
        if accept("(") {
            let inner = expression()
            _ = accept(")")
            return inner
        }
        // "not visited in…" is one recency phrase, not the negation of "visited in…".
        let verbs: Set<String> = ["ordered", "purchased", "bought", "visited", "shopped", "been"]
        if peek() == "not", let next = peek(1), verbs.contains(next) { return phrase() }
        if accept("but", "not") || acceptAny(["not", "except", "excluding", "exclude"]) != nil {
            while let word = peek(), fillers.contains(word), !["and", ",", "&", "with"].contains(word) { position += 1 }
            return factor().map { .not($0) }
        }
        return phrase()
    }

    // MARK: Phrases

    mutating func phrase() -> Rule? {
        let start = position
        let attempts: [(inout PhraseState) -> Rule?] = [
            { $0.never() }, { $0.spend() }, { $0.counted() }, { $0.recency() }, { $0.signup() }, { $0.tagged() },
            { $0.place() }, { $0.contact() }, { $0.repeatBuyers() }, { $0.knownValue() },
        ]
        for attempt in attempts {
            if let rule = attempt(&self) { return rule }
            position = start
        }
        return nil
    }

    mutating func never() -> Rule? {
        // "no order(s) in 120 days", "no visits in the last 2 weeks": the last one is that long ago, not never.
        if accept("no") || accept("zero") {
            let field: Field?
            switch acceptAny(["order", "orders", "purchase", "purchases", "visit", "visits"]) {
            case "order", "orders", "purchase", "purchases": field = .daysSinceLastOrder
            case "visit", "visits": field = .daysSinceLastVisit
            default: field = nil
            }
            if let field, let days = withinDuration() {
                return .condition(Condition(field, .gte, [.number(days)]))
            }
            position -= field == nil ? 1 : 2
        }
        if accept("never", "ordered") || accept("never", "purchased") || accept("never", "bought")
            || accept("no", "orders") || accept("zero", "orders") || accept("without", "orders")
        {
            return .condition(Condition(.orderCount, .eq, [.number(0)]))
        }
        if accept("never", "visited") || accept("no", "visits") || accept("zero", "visits") {
            return .condition(Condition(.visitCount, .eq, [.number(0)]))
        }
        return nil
    }

    mutating func repeatBuyers() -> Rule? {
        if accept("repeat") {
            _ = acceptAny(["customers", "buyers", "shoppers", "purchasers"])
            return .condition(Condition(.orderCount, .gte, [.number(2)]))
        }
        if accept("first", "time") || accept("first-time") || accept("one-time") {
            _ = acceptAny(["customers", "buyers", "shoppers", "purchasers"])
            return .condition(Condition(.orderCount, .eq, [.number(1)]))
        }
        return nil
    }

    /// "spent more than ₹10,000", "total spend between 1k and 5k", "average order value above $50".
    mutating func spend() -> Rule? {
        let field: Field
        if accept("average", "order", "value") || accept("avg", "order", "value") || accept("aov") {
            field = .avgOrderValue
        } else if acceptAny(["spent", "spend", "spends", "spending", "ltv", "revenue"]) != nil
            || accept("lifetime", "value")
        {
            field = .totalSpend
        } else if (acceptAny(["big", "high", "heavy", "top"]) != nil && acceptAny(["spenders", "spender"]) != nil)
            || acceptAny(["spenders", "spender"]) != nil
        {
            field = .totalSpend
        } else {
            return nil
        }
        _ = acceptAny(["is", "of", "over", "in", "total"]).map { word in
            if word == "over" { position -= 1 }  // "spent over 5k": "over" is the comparison
        }
        guard let (op, values) = comparison(amount: true) else { return nil }
        _ = accept("in", "total") || accept("overall") || accept("in", "all")
        return .condition(Condition(field, op, values.map { .number($0) }))
    }

    /// "more than 5 orders", "fewer than 3 visits", "visited fewer than 3 times", "ordered at least twice".
    mutating func counted() -> Rule? {
        if let verb = acceptAny(["visited", "ordered", "purchased", "bought", "shopped"]) {
            let field: Field = verb == "visited" ? .visitCount : .orderCount
            _ = accept("only")
            if accept("once") { return .condition(Condition(field, .eq, [.number(1)])) }
            if accept("twice") { return .condition(Condition(field, .eq, [.number(2)])) }
            guard let (op, values) = comparison(amount: false) else { return nil }
            guard acceptAny(["times", "time"]) != nil else { return nil }
            return .condition(Condition(field, op, values.map { .number($0) }))
        }
        guard let (op, values) = comparison(amount: false) else { return nil }
        let field: Field
        switch acceptAny(["orders", "order", "purchases", "purchase", "visits", "visit"]) {
        case "visits", "visit": field = .visitCount
        case nil: return nil
        default: field = .orderCount
        }
        return .condition(Condition(field, op, values.map { .number($0) }))
    }

    /// "inactive for 3 months", "haven't ordered in 90 days", "visited in the last week",
    /// "last order more than 90 days ago", "active in the last 30 days".
    mutating func recency() -> Rule? {
        let negated =
            acceptAny(["havent", "hasnt", "didnt", "not", "hadnt"]) != nil || accept("have", "not")
            || accept("has", "not") || accept("did", "not")
        if !negated, acceptAny(["inactive", "dormant", "lapsed"]) != nil {
            _ = accept("for")
            if let (op, days) = durationComparison(defaultOp: .gte) {
                return .condition(Condition(.daysInactive, op, days.map { .number($0) }))
            }
            return nil
        }
        if !negated, accept("active") {
            guard let days = withinDuration() else { return nil }
            return .condition(Condition(.daysInactive, .lt, [.number(days)]))
        }
        if !negated, accept("last") {
            let field: Field
            switch acceptAny(["order", "ordered", "purchase", "visit", "visited", "seen", "active"]) {
            case "order", "ordered", "purchase": field = .daysSinceLastOrder
            case "visit", "visited": field = .daysSinceLastVisit
            case "seen", "active": field = .daysInactive
            default: return nil
            }
            guard let (op, days) = durationComparison(defaultOp: .eq), accept("ago") else { return nil }
            return .condition(Condition(field, op, days.map { .number($0) }))
        }
        let field: Field
        switch acceptAny(["ordered", "order", "purchased", "bought", "visited", "visit", "been", "shopped"]) {
        case "visited", "visit", "been": field = .daysSinceLastVisit
        case nil: return nil
        default: field = .daysSinceLastOrder
        }
        _ = acceptAny(["something", "anything"])
        guard let days = withinDuration() else { return nil }
        return .condition(Condition(field, negated ? .gte : .lt, [.number(days)]))
    }

    /// "signed up this year", "joined in the last 30 days", "signed up more than a year ago",
    /// "signed up before 2024-01-01".
    mutating func signup() -> Rule? {
        let isNew = accept("new")
        if isNew {
            // "new customers in the last 30 days": new only says something with a time span.
            guard acceptAny(["signups", "signup", "customers", "users", "members", "registrations"]) != nil
            else { return nil }
            guard let days = withinDuration() else { return nil }
            return .condition(Condition(.daysSinceSignup, .lt, [.number(days)]))
        }
        guard
            accept("signed", "up") || accept("sign", "up")
                || acceptAny(["joined", "registered", "signup", "signups"]) != nil
        else { return nil }
        let (year, month, _) = now.calendarDate
        // "joined in 2025", "before 2025", "after 2024", "since 2024": whole calendar years.
        if let word = peek(), ["in", "during", "before", "after", "since"].contains(word), let next = peek(1),
            let named = Self.year(next)
        {
            position += 2
            let start = Timestamp(year: named, month: 1, day: 1)
            let next = Timestamp(year: named + 1, month: 1, day: 1)
            switch word {
            case "before": return .condition(Condition(.createdAt, .lt, [.time(start)]))
            case "after": return .condition(Condition(.createdAt, .gte, [.time(next)]))
            case "since": return .condition(Condition(.createdAt, .gte, [.time(start)]))
            default:
                let end = Timestamp(microseconds: next.microseconds - 1)
                return .condition(Condition(.createdAt, .between, [.time(start), .time(end)]))
            }
        }
        if accept("this", "year") {
            return .condition(Condition(.createdAt, .gte, [.time(Timestamp(year: year, month: 1, day: 1))]))
        }
        if accept("this", "month") {
            return .condition(Condition(.createdAt, .gte, [.time(Timestamp(year: year, month: month, day: 1))]))
        }
        if accept("last", "year") {
            let start = Timestamp(year: year - 1, month: 1, day: 1)
            let end = Timestamp(microseconds: Timestamp(year: year, month: 1, day: 1).microseconds - 1)
            return .condition(Condition(.createdAt, .between, [.time(start), .time(end)]))
        }
        if let word = acceptAny(["before", "after", "since"]) {
            guard let text = peek(), let date = Self.date(text) else { return nil }
            position += 1
            let op: Operator = word == "before" ? .lt : .gte
            return .condition(Condition(.createdAt, op, [.time(date)]))
        }
        if let days = withinDuration() { return .condition(Condition(.daysSinceSignup, .lt, [.number(days)])) }
        guard let (op, days) = durationComparison(defaultOp: .eq), accept("ago") else { return nil }
        return .condition(Condition(.daysSinceSignup, op, days.map { .number($0) }))
    }

    /// "tagged vip", "tagged vip or gold", "with tag vip", "untagged".
    mutating func tagged() -> Rule? {
        if acceptAny(["untagged"]) != nil || accept("no", "tags") || accept("without", "tags") {
            return .condition(Condition(.tags, .missing))
        }
        guard accept("tagged") || accept("tag") || accept("tags") || accept("labelled") || accept("labeled") else {
            return nil
        }
        _ = acceptAny(["as", "with", "include", "includes", "contain", "contains"])
        let names = list()
        guard !names.isEmpty else { return nil }
        if names.count == 1 { return .condition(Condition(.tags, .contains, [.string(names[0])])) }
        return .condition(Condition(.tags, .in, names.map { .string($0) }))
    }

    /// "in Mumbai or Pune", "from Delhi", "city is Pune", "based in Chennai", "in India".
    mutating func place() -> Rule? {
        if accept("outside") || accept("not", "from") || accept("not", "in") {
            let names = list(original: true)
            guard !names.isEmpty else { return nil }
            return .not(cityRule(names))
        }
        let explicitCity = accept("city") || accept("cities")
        if explicitCity {
            _ = acceptAny(["is", "in", "of", "="])
        } else {
            _ = acceptAny(["living", "based", "located", "live", "lives"])
            guard acceptAny(["in", "from"]) != nil else { return nil }
            // "in the last 30 days" is time, not a place.
            if let next = peek(), ["the", "last", "past"].contains(next) || tokens[position].number != nil {
                return nil
            }
        }
        let names = list(original: true)
        guard !names.isEmpty else { return nil }
        if !explicitCity, names.count == 1, let country = Self.countries[names[0].lowercased()] {
            return .condition(Condition(.country, .eq, [.string(country)]))
        }
        return cityRule(names)
    }

    func cityRule(_ names: [String]) -> Rule {
        if names.count == 1 { return .condition(Condition(.city, .eq, [.string(names[0])])) }
        return .condition(Condition(.city, .in, names.map { .string($0) }))
    }

    /// Known values named bare: "Kolkata customers", "Mumbai or Pune VIPs", "vip or wholesale buyers",
    /// "newsletter subscribers", "app users" (tag `app_user`), "non-vip customers".
    mutating func knownValue() -> Rule? {
        if let token = peek(), token.hasPrefix("non-") || token == "non" {
            let save = position
            if token == "non" {
                position += 1
                _ = accept("-")
            } else {
                // "non-vip": look at the rest as its own token.
                let rest = String(token.dropFirst(4))
                if let tag = matchTag(startingWith: [rest]) {
                    position += 1 + tag.extra
                    skipTagNoun()
                    return .not(.condition(Condition(.tags, .contains, [.string(tag.name)])))
                }
                position = save
                return nil
            }
            guard let tag = matchTag() else {
                position = save
                return nil
            }
            position += tag.length
            skipTagNoun()
            return .not(.condition(Condition(.tags, .contains, [.string(tag.name)])))
        }
        if let cities = knownList(PhraseState.matchCity) { return cityRule(cities) }
        if let names = knownList(PhraseState.matchTag) {
            skipTagNoun()
            if names.count == 1 { return .condition(Condition(.tags, .contains, [.string(names[0])])) }
            return .condition(Condition(.tags, .in, names.map { .string($0) }))
        }
        return nil
    }

    /// Known values joined by "or" or commas ("Mumbai, Pune or Delhi"), as `match` finds them at the cursor.
    mutating func knownList(_ match: (PhraseState) -> () -> (name: String, length: Int)?) -> [String]? {
        guard let first = match(self)() else { return nil }
        var names = [first.name]
        position += first.length
        while peek() == "or" || peek() == "," {
            let save = position
            position += 1
            guard let next = match(self)() else {
                position = save
                break
            }
            names.append(next.name)
            position += next.length
        }
        return names
    }

    /// The nouns that may follow a tag: "newsletter subscribers", "wholesale buyers".
    mutating func skipTagNoun() {
        _ = acceptAny([
            "subscribers", "subscriber", "customers", "customer", "buyers", "buyer", "members", "member", "shoppers",
            "people", "clients", "accounts",
        ])
    }

    /// A known city at the cursor, spelt as typed (comparisons ignore case), and how many tokens it spans.
    func matchCity() -> (name: String, length: Int)? {
        for city in vocabulary.cities {
            let words = city.lowercased().split(separator: " ").map(String.init)
            if words.enumerated().allSatisfy({ peek($0.offset) == $0.element }) {
                let typed = tokens[position..<position + words.count].map(\.original).joined(separator: " ")
                return (typed, words.count)
            }
        }
        return nil
    }

    /// A known tag at the cursor: its words (`app_user` is "app user"), the last one possibly plural.
    func matchTag() -> (name: String, length: Int)? {
        var words: [String] = []
        for offset in 0..<3 { if let word = peek(offset) { words.append(word) } }
        return matchTag(startingWith: words).map { ($0.name, $0.extra + 1) }
    }

    /// Matches a tag against `words`; `extra` counts the words used past the first.
    func matchTag(startingWith words: [String]) -> (name: String, extra: Int)? {
        for tag in vocabulary.tags {
            let parts = tag.lowercased().split(whereSeparator: { $0 == "_" || $0 == " " || $0 == "-" }).map(String.init)
            guard !parts.isEmpty, parts.count <= words.count else { continue }
            let matches = parts.enumerated().allSatisfy { offset, part in
                let word = words[offset]
                return word == part || (offset == parts.count - 1 && (word == part + "s" || word == part + "es"))
            }
            if matches { return (tag, parts.count - 1) }
        }
        return nil
    }

    /// "with an email", "without a phone", "email contains gmail", "name starts with A".
    mutating func contact() -> Rule? {
        let negative = accept("without") || accept("no") || accept("missing")
        let positive = !negative && (accept("with") || accept("having") || accept("have"))
        _ = acceptAny(["an", "a"])
        let field: Field
        switch acceptAny(["email", "e-mail", "phone", "name", "mobile"]) {
        case "email", "e-mail": field = .email
        case "phone", "mobile":
            field = .phone
            _ = acceptAny(["number", "numbers", "no"])
        case "name": field = .name
        default: return nil
        }
        if negative { return .condition(Condition(field, .missing)) }
        if accept("contains") || accept("containing") || accept("includes") {
            guard let text = word() else { return nil }
            return .condition(Condition(field, .contains, [.string(text)]))
        }
        if accept("starts", "with") || accept("starting", "with") || accept("begins", "with") {
            guard let text = word() else { return nil }
            return .condition(Condition(field, .startsWith, [.string(text)]))
        }
        if accept("ends", "with") || accept("ending", "with") {
            guard let text = word() else { return nil }
            return .condition(Condition(field, .contains, [.string(text)]))
        }
        if positive || accept("known") || accept("present") { return .condition(Condition(field, .exists)) }
        return nil
    }

    // MARK: Pieces

    /// A word that is not a connective, as typed.
    mutating func word() -> String? {
        guard let token = tokens[safe: position], !connectives.contains(token.text) else { return nil }
        position += 1
        return token.original
    }

    /// "vip", "vip or gold", "Mumbai, Pune or Delhi", "New Delhi": names until a keyword. Multi-word names join
    /// up with spaces; `original` keeps the case as typed.
    mutating func list(original: Bool = false) -> [String] {
        var names: [String] = []
        while true {
            var parts: [String] = []
            while let token = tokens[safe: position], !connectives.contains(token.text),
                !Self.stopWords.contains(token.text), token.number == nil || parts.isEmpty
            {
                parts.append(original ? token.original : token.text)
                position += 1
            }
            guard !parts.isEmpty else { break }
            names.append(parts.joined(separator: " "))
            // Continue the list only when "or"/"," is followed by another plain name.
            let save = position
            guard acceptAny(["or", ","]) != nil, let next = tokens[safe: position],
                !connectives.contains(next.text), !Self.stopWords.contains(next.text), next.number == nil
            else {
                position = save
                break
            }
            // "in Mumbai or spent…": the word after "or" must not start a phrase of its own.
            if Self.phraseStarts.contains(next.text) {
                position = save
                break
            }
        }
        return names
    }

    static let stopWords: Set<String> = [
        "who", "that", "with", "and", "or", "which", "whose", "have", "has", "had", "spent", "spend", "tagged",
        "in", "from", "are", "is", "inactive", "active", "signed", "joined", "visited", "ordered", "havent",
        "hasnt", "more", "less", "fewer", "over", "under", "at", "between", "last", "but", "not", "without",
        "customers", "users", "people", "placed", "made", "never", "no", "city", "tag", "total", "overall",
        "outside", "to",
    ]
    static let phraseStarts: Set<String> = [
        "spent", "spend", "tagged", "inactive", "active", "signed", "joined", "visited", "ordered", "havent",
        "hasnt", "more", "less", "fewer", "at", "never", "no", "last", "not", "repeat",
    ]
    static let countries = [
        "india": "IN", "usa": "US", "us": "US", "america": "US", "uk": "GB", "britain": "GB", "england": "GB",
        "uae": "AE", "singapore": "SG", "germany": "DE", "france": "FR", "canada": "CA", "australia": "AU",
    ]

    /// A comparison and its value(s): "more than 5", "at least ₹1 lakh", "between 1k and 5k", "under $50", "> 3".
    mutating func comparison(amount: Bool) -> (Operator, [Decimal])? {
        var op: Operator = .eq
        if accept("more", "than") || accept("greater", "than") || accept("higher", "than") || accept("above")
            || accept("over") || accept("exceeding") || accept("more", "then") || accept(">")
        {
            op = .gt
        } else if accept("at", "least") || accept("no", "less", "than") || accept("minimum") || accept("min")
            || accept(">=")
        {
            op = .gte
        } else if accept("less", "than") || accept("fewer", "than") || accept("under") || accept("below")
            || accept("lower", "than") || accept("<")
        {
            op = .lt
        } else if accept("at", "most") || accept("no", "more", "than") || accept("up", "to") || accept("maximum")
            || accept("max") || accept("<=")
        {
            op = .lte
        } else if accept("between") {
            guard let low = quantity(amount: amount), accept("and") || accept("to") || accept("-"),
                let high = quantity(amount: amount)
            else { return nil }
            return (.between, [min(low, high), max(low, high)])
        } else {
            _ = accept("exactly") || accept("equal", "to") || accept("=")
        }
        guard let value = quantity(amount: amount) else { return nil }
        if op == .eq, acceptAny(["to", "-"]) != nil {
            // "2 to 5 orders", "2-5 orders", "₹1k to ₹5k"
            guard let high = quantity(amount: amount) else { return nil }
            return (.between, [min(value, high), max(value, high)])
        }
        if accept("or", "more") || accept("or", "above") || accept("or", "higher") || accept("and", "above")
            || accept("or", "over") || accept("plus")
        {
            op = .gte
        } else if accept("or", "less") || accept("or", "fewer") || accept("or", "below") || accept("and", "below") {
            op = .lte
        }
        return (op, [value])
    }

    /// A number: "3", "three", "10,000", "₹2.5k", "1 lakh", "2 crore", "$5 million".
    mutating func quantity(amount: Bool) -> Decimal? {
        if amount { _ = acceptAny(["₹", "$", "€", "£", "rs", "inr", "usd", "rupees"]) }
        var value: Decimal
        if let number = tokens[safe: position]?.number {
            value = number
            position += 1
        } else if let word = peek(), let number = Self.numberWords[word] {
            value = number
            position += 1
        } else {
            return nil
        }
        switch peek() {
        case "k", "thousand": value *= 1_000
        case "lakh", "lakhs", "lac", "l": value *= 100_000
        case "crore", "crores", "cr": value *= 10_000_000
        case "m", "million", "mn": value *= 1_000_000
        default: if amount { _ = acceptAny(["rupees", "rs", "inr", "dollars", "usd"]) }; return value
        }
        position += 1
        if amount { _ = acceptAny(["rupees", "rs", "inr", "dollars", "usd"]) }
        return value
    }

    static let numberWords: [String: Decimal] = [
        "zero": 0, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
        "sixty": 60, "ninety": 90, "hundred": 100,
    ]

    /// "3 months", "a year", "2 weeks", "90 days": in days (a month is 30 days, a year 365).
    mutating func duration() -> Decimal? {
        let save = position
        guard let count = quantity(amount: false) else { return nil }
        switch acceptAny(["day", "days", "week", "weeks", "month", "months", "year", "years"]) {
        case "day", "days": return count
        case "week", "weeks": return count * 7
        case "month", "months": return count * 30
        case "year", "years": return count * 365
        default:
            position = save
            return nil
        }
    }

    /// "in the last 30 days", "within 2 weeks", "in the past month", "this week"… → the number of days.
    mutating func withinDuration() -> Decimal? {
        let save = position
        _ = acceptAny(["in", "within", "for", "during", "since"])
        _ = acceptAny(["the", "a"])
        _ = acceptAny(["last", "past"])
        if let days = duration() { return days }
        // "in the last month" (no count)
        switch acceptAny(["day", "week", "month", "year"]) {
        case "day": return 1
        case "week": return 7
        case "month": return 30
        case "year": return 365
        default:
            position = save
            return nil
        }
    }

    /// "more than 3 months", "over a year", "90 days" (with `defaultOp`) → the comparison in days.
    mutating func durationComparison(defaultOp: Operator) -> (Operator, [Decimal])? {
        let save = position
        var op = defaultOp
        if accept("more", "than") || accept("over") || accept("longer", "than") || accept("above") {
            op = .gt
        } else if accept("at", "least") {
            op = .gte
        } else if accept("less", "than") || accept("under") || accept("within") {
            op = .lt
        } else if accept("at", "most") {
            op = .lte
        }
        guard let days = duration() else {
            position = save
            return nil
        }
        return (op, [days])
    }

    /// A calendar year written as four digits, 1900…2200.
    static func year(_ text: String) -> Int? {
        guard text.count == 4, let year = Int(text), (1900...2200).contains(year) else { return nil }
        return year
    }

    /// "2024-01-01" or "2024-01-01T00:00:00Z".
    static func date(_ text: String) -> Timestamp? {
        if let time = Timestamp(rfc3339: text.uppercased()) { return time }
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return nil }
        return Timestamp(rfc3339: String(format: "%04d-%02d-%02dT00:00:00Z", parts[0], parts[1], parts[2]))
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { index >= 0 && index < count ? self[index] : nil }
}
