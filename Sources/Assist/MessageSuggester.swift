import Campaigns
import Events
import Segments

/// Message suggestions (SPEC §9): two or three template variants for an objective, a channel and an audience.
/// Every variant is a valid `MessageTemplate` using only known variables and fits the channel's length limit; a
/// model's variants that do not are dropped, and fewer than two usable ones fall back to the offline templates.
public struct MessageSuggester: Sendable {
    public let client: ChatClient?

    public init(client: ChatClient?) { self.client = client }

    /// The most characters a rendered message may have on each channel.
    public static let channelLimits = ["sms": 160, "whatsapp": 1_000, "email": MessageTemplate.lengthMax]

    /// The widest a variable's value is assumed to be when a template's length is checked.
    static let variableWidths = [
        "first_name": 12, "name": 30, "city": 15, "country": 2, "total_spend": 10, "order_count": 4,
        "visit_count": 4, "customer_id": 24, "email": 40, "phone": 15,
    ]
    static let attributeWidth = 20

    /// What the helper may tell a model about the audience: aggregates, never personal data, unless the
    /// deployment allows sample rows (`assist.llm.share_samples`).
    public struct Audience: Sendable {
        public var english: String
        public var size: Int
        /// First names and cities of a few members; sent only when sharing samples is allowed.
        public var samples: [(firstName: String, city: String)]

        public init(english: String, size: Int, samples: [(firstName: String, city: String)] = []) {
            self.english = english
            self.size = size
            self.samples = samples
        }
    }

    public struct Variant: Sendable {
        public let template: String
        public let variables: [String]
        /// The longest the rendered text can be (see `MessageTemplate.lengthBound`).
        public let lengthBound: Int
    }

    public struct Answer: Sendable {
        public var variants: [Variant]
        public var objective: String
        public var source: String
        public var fallbackReason: String?
    }

    /// Why a request cannot be served at all (the caller's mistake, not the model's).
    public struct InvalidRequest: Error, Sendable, CustomStringConvertible {
        public let pointer: String
        public let description: String
    }

    public func suggest(objective: String, channel: String, audience: Audience) async throws(InvalidRequest)
        -> Answer
    {
        guard let limit = Self.channelLimits[channel] else {
            throw InvalidRequest(
                pointer: "/channel", description: "channel must be one of \(Self.channelLimits.keys.sorted())")
        }
        let trimmed = objective.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 500 else {
            throw InvalidRequest(pointer: "/objective", description: "objective must be 1…500 characters")
        }
        var fallbackReason: String?
        if let client {
            do {
                let variants = try await llmVariants(
                    client: client, objective: trimmed, channel: channel, limit: limit, audience: audience)
                return Answer(variants: variants, objective: trimmed, source: "llm", fallbackReason: nil)
            } catch {
                fallbackReason = error.description
            }
        }
        let kind = OfflineMessages.objective(for: trimmed)
        let variants = OfflineMessages.templates(kind, channel: channel).compactMap { Self.variant($0, limit: limit) }
        return Answer(variants: variants, objective: kind.rawValue, source: "offline", fallbackReason: fallbackReason)
    }

    /// `text` as a variant when it is a valid template within `limit`, else why not.
    static func check(_ text: String, limit: Int) -> Result<Variant, AssistError> {
        let template: MessageTemplate
        do { template = try MessageTemplate(text) } catch { return .failure(.invalidOutput(error.description)) }
        let bound = template.lengthBound(widths: variableWidths, defaultWidth: attributeWidth)
        guard bound <= limit else {
            return .failure(.invalidOutput("a variant can render to \(bound) characters; the limit is \(limit)"))
        }
        return .success(Variant(template: text, variables: template.variableNames, lengthBound: bound))
    }

    static func variant(_ text: String, limit: Int) -> Variant? { try? check(text, limit: limit).get() }

    private func llmVariants(
        client: ChatClient, objective: String, channel: String, limit: Int, audience: Audience
    ) async throws(AssistError) -> [Variant] {
        var system = """
            You write marketing messages for a shop. Write 3 short variants of one message for the objective and \
            audience given. Personalise only with these placeholders, written {{name}} or {{name|default}}: \
            \(MessageTemplate.variables.joined(separator: ", ")). No other placeholders: no coupon codes, links \
            or dates you were not given. Channel: \(channel); a rendered message must stay within \(limit) \
            characters (placeholders can be up to 30 characters long).
            """
        if channel == "sms" { system += " Plain text, no emoji." }
        var user = "Objective: \(objective)\nAudience: \(audience.english.isEmpty ? "all customers" : audience.english)"
        user += " (\(audience.size) customers)"
        if client.settings.shareSamples, !audience.samples.isEmpty {
            user +=
                "\nA few members: "
                + audience.samples.prefix(3).map { "\($0.firstName) in \($0.city)" }
                .joined(separator: "; ")
        }
        return try await client.complete(
            ChatClient.Request(
                helper: "messages", system: system, user: user, schemaName: "message_variants", schema: Self.schema)
        ) { answer throws(AssistError) in try Self.variants(answer, limit: limit) }
    }

    /// The usable variants of a model's answer; fewer than two is an invalid answer.
    static func variants(_ answer: JSONObject, limit: Int) throws(AssistError) -> [Variant] {
        guard case .array(let items)? = answer["variants"] else { throw .invalidOutput("no \"variants\" list") }
        var variants: [Variant] = []
        var problems: [String] = []
        for item in items.prefix(3) {
            guard let text = item.objectValue?["template"]?.stringValue ?? item.stringValue else { continue }
            switch Self.check(text, limit: limit) {
            case .success(let variant): variants.append(variant)
            case .failure(let problem): problems.append("\(problem)")
            }
        }
        guard variants.count >= 2 else {
            throw .invalidOutput(
                "\(variants.count) usable variant(s)"
                    + (problems.isEmpty ? "" : ": " + problems.joined(separator: "; ")))
        }
        return variants
    }

    static let schema: JSONValue = {
        func object(_ members: [(String, JSONValue)]) -> JSONValue { .object(JSONObject(members)) }
        let variant = object([
            ("type", .string("object")), ("properties", object([("template", object([("type", .string("string"))]))])),
            ("required", .array([.string("template")])), ("additionalProperties", .bool(false)),
        ])
        return object([
            ("type", .string("object")),
            ("properties", object([("variants", object([("type", .string("array")), ("items", variant)]))])),
            ("required", .array([.string("variants")])), ("additionalProperties", .bool(false)),
        ])
    }()
}

/// The deterministic suggestions: three templates per objective, short ones for SMS.
enum OfflineMessages {
    enum Objective: String, CaseIterable {
        case winback, welcome, loyalty, upsell, feedback, announcement
    }

    /// The objective `text` names, by keywords; an announcement when none matches.
    static func objective(for text: String) -> Objective {
        let lower = text.lowercased()
        if let exact = Objective(rawValue: lower) { return exact }
        let keywords: [(Objective, [String])] = [
            (.winback, ["win back", "winback", "come back", "inactive", "lapsed", "re-engage", "reengage", "miss"]),
            (.welcome, ["welcome", "new customer", "onboard", "first order", "signed up", "sign-up"]),
            (.feedback, ["feedback", "review", "survey", "rate", "rating"]),
            (.loyalty, ["thank", "loyal", "vip", "reward", "appreciat"]),
            (.upsell, ["upsell", "cross", "recommend", "upgrade", "more of", "next purchase"]),
        ]
        for (objective, words) in keywords where words.contains(where: lower.contains) { return objective }
        return .announcement
    }

    static func templates(_ objective: Objective, channel: String) -> [String] {
        let short = channel == "sms"
        switch objective {
        case .winback:
            return short
                ? [
                    "Hi {{first_name|there}}, we miss you! Come back and see what's new in store.",
                    "{{first_name|Hi}}, it's been a while. Your favourites are waiting for you.",
                    "We saved something for you, {{first_name|friend}}. Drop by soon!",
                ]
                : [
                    "Hi {{first_name|there}},\n\nIt's been a while since your last visit and we miss you. "
                        + "A lot has changed since then: come back and see what's new.",
                    "Hello {{first_name|there}},\n\nYour favourites are still here, along with new arrivals we "
                        + "think you'll like. We'd love to see you again.",
                    "{{first_name|Hi}}, we kept a place for you.\n\nCome back and pick up where you left off.",
                ]
        case .welcome:
            return short
                ? [
                    "Welcome, {{first_name|friend}}! Thanks for joining us. We're glad you're here.",
                    "Hi {{first_name|there}}, welcome aboard! Reply STOP to opt out.",
                    "{{first_name|Hello}}, great to have you with us. See you soon!",
                ]
                : [
                    "Welcome, {{first_name|friend}}!\n\nThanks for joining us. Here is what to expect: news, "
                        + "offers and the occasional surprise.",
                    "Hi {{first_name|there}},\n\nWe're glad you're here. Take a look around and tell us what you "
                        + "think.",
                    "{{first_name|Hello}},\n\nWelcome to the family. Your first visit is the start of something good.",
                ]
        case .loyalty:
            return short
                ? [
                    "Thank you, {{first_name|friend}}! {{order_count}} orders with us means a lot.",
                    "{{first_name|Hi}}, you're one of our best customers. Thank you!",
                    "A big thank-you from all of us, {{first_name|friend}}.",
                ]
                : [
                    "Dear {{first_name|customer}},\n\nThank you for your {{order_count}} orders with us. "
                        + "Customers like you are why we do this.",
                    "Hi {{first_name|there}},\n\nYou're one of our most valued customers, and we wanted to say "
                        + "thank you.",
                    "{{first_name|Hello}},\n\nA note of thanks for your loyalty. We look forward to serving you again.",
                ]
        case .upsell:
            return short
                ? [
                    "{{first_name|Hi}}, loved your last order? You'll like what's new too.",
                    "Hi {{first_name|there}}, picked something for you based on what you like.",
                    "{{first_name|Hello}}, there's more where that came from. Take a look!",
                ]
                : [
                    "Hi {{first_name|there}},\n\nBased on your past orders, we picked a few things we think "
                        + "you'll love.",
                    "{{first_name|Hello}},\n\nCustomers who liked what you bought also liked these.",
                    "Dear {{first_name|customer}},\n\nReady for your next favourite? Here's what's new.",
                ]
        case .feedback:
            return short
                ? [
                    "Hi {{first_name|there}}, how did we do? Reply with a score from 1 to 5.",
                    "{{first_name|Hello}}, your opinion matters. Tell us about your last visit.",
                    "Got a minute, {{first_name|friend}}? We'd love your feedback.",
                ]
                : [
                    "Hi {{first_name|there}},\n\nHow was your experience with us? A quick reply helps us improve.",
                    "Dear {{first_name|customer}},\n\nWe'd love to hear what you think about your last order.",
                    "{{first_name|Hello}},\n\nTwo minutes of your time would help us serve you better.",
                ]
        case .announcement:
            return short
                ? [
                    "Hi {{first_name|there}}, something new just arrived. Come and see!",
                    "{{first_name|Hello}}, big news from us. Visit us to find out more.",
                    "News for you, {{first_name|friend}}: check out what's new this week.",
                ]
                : [
                    "Hi {{first_name|there}},\n\nWe have news: something new has just arrived, and you're among "
                        + "the first to know.",
                    "{{first_name|Hello}},\n\nHere's what's new with us this season.",
                    "Dear {{first_name|customer}},\n\nWe've been working on something and can't wait to show you.",
                ]
        }
    }
}
