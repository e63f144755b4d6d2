import Events
import Foundation

/// Deterministic synthetic CRM traffic: the same seed and options give the same events, byte for byte.
///
/// Customers sign up first; then orders, visits, cancellations and partial refunds follow in time order.
/// Spend is heavy-tailed (a few customers place most orders, amounts are log-normal), visits per customer are
/// Poisson (visits fall on customers uniformly),
/// and optional shares of redeliveries (same id; same `order_id` with a new id) and poison records are mixed in.
public struct EventGenerator: Sequence, IteratorProtocol {
    /// What to generate.
    public struct Options: Sendable {
        public var customers = 1_000
        public var orders = 3_000
        public var visits = 5_000
        public var seed: UInt64 = 42
        /// Share of events emitted a second time (half with the same event id, half orders with a new id).
        public var redeliveryRate = 0.0
        /// Share of records that are poison: garbage, wrong types, unknown types, another currency.
        public var poisonRate = 0.0
        /// Share of orders later cancelled (some cancellations arrive before their order).
        public var cancelRate = 0.03
        /// Share of orders partially refunded.
        public var refundRate = 0.05
        /// Currency of the generated orders.
        public var currency = "INR"
        /// Time of the first event; later events advance from here.
        public var start = Timestamp(rfc3339: "2024-01-01T00:00:00Z")!

        /// The defaults: a small data set with no redeliveries or poison.
        public init() {}
    }

    /// One generated record: where it goes and its bytes (a structured CloudEvent, or poison).
    public struct Item: Sendable {
        public let stream: EventStream
        public let key: String
        public let value: [UInt8]
        /// False for poison records.
        public let isValid: Bool
    }

    private let options: Options
    private var random: SplitMix64
    private var index = 0
    private var clockMicros: Int64
    private var pending: [Item] = []
    private var recent: [(EventStream, String, [UInt8])] = []
    private var orderNumber = 0
    private let activityTotal: Int

    /// A generator of what `options` asks for.
    public init(options: Options) {
        self.options = options
        random = SplitMix64(seed: options.seed)
        clockMicros = options.start.microseconds
        activityTotal = options.orders + options.visits
    }

    static let firstNames = [
        "Asha", "Ravi", "Priya", "Arjun", "Meera", "Kabir", "Ananya", "Vikram", "Isha", "Rohan",
        "Sara", "Dev", "Nisha", "Aditya", "Tara", "Karan", "Leela", "Omar", "Zoya", "Farhan",
    ]
    static let lastNames = ["Rao", "Sharma", "Iyer", "Patel", "Khan", "Singh", "Das", "Menon", "Gupta", "Nair"]
    static let cities = [
        "Mumbai", "Delhi", "Bengaluru", "Pune", "Chennai", "Hyderabad", "Kolkata", "Ahmedabad",
        "Jaipur", "Lucknow",
    ]
    static let channels = ["web", "app", "store"]

    /// The next record, or nil when everything has been generated.
    public mutating func next() -> Item? {
        if !pending.isEmpty { return pending.removeFirst() }
        let total = options.customers + activityTotal
        guard index < total else { return nil }
        defer { index += 1 }
        if random.unit() < options.poisonRate { pending.append(poison()) }
        if options.redeliveryRate > 0, !recent.isEmpty, random.unit() < options.redeliveryRate {
            pending.append(redelivery())
        }
        let item = index < options.customers ? customer(index) : activity()
        remember(item)
        if pending.isEmpty { return item }
        pending.append(item)
        return pending.removeFirst()
    }

    // MARK: Events

    private mutating func tick() -> Timestamp {
        // Exponential gaps averaging ~30 s keep time moving forward across the whole run.
        clockMicros += Int64(-30_000_000 * log(1 - random.unit() * 0.999_999))
        return Timestamp(microseconds: clockMicros)
    }

    private mutating func envelope(_ type: EventType, data: [(String, JSONValue)], time: Timestamp) -> Item {
        let id = "gen-\(options.seed)-\(index)-\(type.rawValue.split(separator: ".").last!)-\(pending.count)"
        let event = JSONValue.object(
            JSONObject([
                ("specversion", .string("1.0")), ("id", .string(id)), ("source", .string("/generator")),
                ("type", .string(type.rawValue)), ("time", .string(time.description)),
                ("data", .object(JSONObject(data))),
            ]))
        let key = data.first { $0.0 == type.keyField }?.1.stringValue ?? ""
        return Item(stream: type.stream, key: key, value: event.serialized(), isValid: true)
    }

    private func customerID(_ number: Int) -> String { "c-\(options.seed)-\(number)" }

    private mutating func customer(_ number: Int) -> Item {
        let time = tick()
        let first = random.pick(Self.firstNames)
        let last = random.pick(Self.lastNames)
        var tags: [JSONValue] = []
        if random.unit() < 0.05 { tags.append(.string("vip")) }
        if random.unit() < 0.40 { tags.append(.string("newsletter")) }
        if random.unit() < 0.30 { tags.append(.string("app_user")) }
        if random.unit() < 0.03 { tags.append(.string("wholesale")) }
        let plan = random.pick(["free", "free", "free", "silver", "silver", "gold"])
        let signup = Timestamp(microseconds: time.microseconds - Int64(random.below(3 * 365)) * 86_400_000_000)
        return envelope(
            .customerUpserted,
            data: [
                ("customer_id", .string(customerID(number))), ("name", .string("\(first) \(last)")),
                ("email", .string("\(first.lowercased()).\(last.lowercased()).\(number)@example.com")),
                ("city", .string(random.pick(Self.cities))), ("country", .string("IN")), ("tags", .array(tags)),
                (
                    "attributes",
                    .object(
                        JSONObject([
                            ("plan", .string(plan)), ("age", .number(JSONNumber(Int64(18 + random.below(60))))),
                        ]))
                ),
                ("created_at", .string(signup.description)),
            ], time: time)
    }

    /// A customer drawn with a heavy tail: low numbers are chosen far more often.
    private mutating func activeCustomer() -> String {
        let skewed = pow(random.unit(), 2.5)
        return customerID(Swift.min(options.customers - 1, Int(skewed * Double(options.customers))))
    }

    private mutating func activity() -> Item {
        let time = tick()
        let ordersLeft = Double(options.orders - orderNumber)
        let share = ordersLeft / Double(Swift.max(1, activityTotal - (index - options.customers)))
        guard random.unit() < share else {
            // Visits fall on customers uniformly, so each customer's visit count is (close to) Poisson.
            let customer = customerID(random.below(options.customers))
            return envelope(
                .visitRecorded,
                data: [
                    ("customer_id", .string(customer)), ("visited_at", .string(time.description)),
                    ("channel", .string(random.pick(Self.channels))), ("page", .string("/p/\(random.below(500))")),
                ],
                time: time)
        }
        // Orders fall on a heavy tail of customers: a few place most of them.
        let customer = activeCustomer()
        orderNumber += 1
        let orderID = "o-\(options.seed)-\(orderNumber)"
        // Log-normal amount, median ~1,500, in paise (two fraction digits).
        let amount = Swift.min(9_999_999.0, exp(7.3 + 1.1 * random.normal()))
        let paise = Int64(amount * 100)
        let amountNumber = Self.decimal(paise)
        let placed = envelope(
            .orderPlaced,
            data: [
                ("order_id", .string(orderID)), ("customer_id", .string(customer)),
                ("amount", .number(Self.number(amountNumber))), ("currency", .string(options.currency)),
                ("placed_at", .string(time.description)), ("channel", .string(random.pick(Self.channels))),
            ],
            time: time)
        if random.unit() < options.cancelRate {
            let cancel = envelope(
                .orderCancelled, data: [("order_id", .string(orderID)), ("customer_id", .string(customer))], time: time)
            if random.unit() < 0.2 {
                // The cancellation overtakes its order.
                pending.append(placed)
                return cancel
            }
            pending.append(cancel)
        } else if random.unit() < options.refundRate {
            let refund = Swift.max(1, paise / Int64(2 + random.below(4)))
            pending.append(
                envelope(
                    .orderRefunded,
                    data: [
                        ("order_id", .string(orderID)), ("customer_id", .string(customer)),
                        ("amount", .number(Self.number(Self.decimal(refund)))),
                    ],
                    time: time))
        }
        return placed
    }

    /// Paise as a decimal lexeme with two fraction digits: 12345 → "123.45".
    private static func decimal(_ paise: Int64) -> String {
        let fraction = paise % 100
        return "\(paise / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    private static func number(_ lexeme: String) -> JSONNumber {
        guard case .number(let number) = try? JSONParser.parse(lexeme) else { return JSONNumber(0) }
        return number
    }

    // MARK: Redeliveries and poison

    private mutating func remember(_ item: Item) {
        guard item.isValid else { return }
        recent.append((item.stream, item.key, item.value))
        if recent.count > 256 { recent.removeFirst(recent.count - 256) }
    }

    private mutating func redelivery() -> Item {
        let (stream, key, value) = random.pick(recent)
        guard random.unit() < 0.5, stream == .orders, case .object(var event) = try? JSONParser.parse(value),
            event["type"]?.stringValue == EventType.orderPlaced.rawValue
        else { return Item(stream: stream, key: key, value: value, isValid: true) }
        // The same order retried by the shop with a fresh event id: must still count once.
        event["id"] = .string("gen-\(options.seed)-retry-\(index)")
        return Item(stream: stream, key: key, value: JSONValue.object(event).serialized(), isValid: true)
    }

    private mutating func poison() -> Item {
        let customer = options.customers > 0 ? activeCustomer() : "c-0"
        let time = Timestamp(microseconds: clockMicros)
        switch random.below(4) {
        case 0:
            return Item(stream: .orders, key: customer, value: Array("\u{1}garbage{{{ not json".utf8), isValid: false)
        case 1:
            var item = envelope(
                .orderPlaced,
                data: [
                    ("order_id", .string("o-bad-\(index)")), ("customer_id", .string(customer)),
                    ("amount", .string("lots")),
                ], time: time)
            item = Item(stream: item.stream, key: item.key, value: item.value, isValid: false)
            return item
        case 2:
            let text =
                #"{"specversion":"1.0","id":"gen-bad-\#(index)","source":"/generator","type":"crm.order.shipped","#
                + #""data":{"customer_id":"\#(customer)"}}"#
            let value = Array(text.utf8)
            return Item(stream: .orders, key: customer, value: value, isValid: false)
        default:
            let item = envelope(
                .orderPlaced,
                data: [
                    ("order_id", .string("o-usd-\(index)")), ("customer_id", .string(customer)),
                    ("amount", .number(JSONNumber(10))),
                    ("currency", .string(options.currency == "USD" ? "EUR" : "USD")),
                ],
                time: time)
            return Item(stream: item.stream, key: item.key, value: item.value, isValid: false)
        }
    }
}
