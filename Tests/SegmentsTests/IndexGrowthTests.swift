import Events
import Foundation
import Projections
import Segments
import Synchronization
import Testing

/// A live index makes room for new customers outside its lock, a part at a time: counts stay exact, see whole
/// batches only, and the room grows by an eighth beyond what a batch needs.
@Suite("index growth")
struct IndexGrowthTests {
    /// A new customer with a value in every kind of column that grows with the rows.
    static func newcomer(_ number: Int, wave: Int) -> CustomerState {
        customer("g\(wave)-\(number)") {
            $0.email = "g\(wave)-\(number)@example.com"
            $0.name = "Person \(number)"
            $0.city = ["Mumbai", "Pune", "Delhi"][number % 3]
            $0.tags = number % 2 == 0 ? ["wave\(wave)", "even"] : ["wave\(wave)"]
            $0.attributes = ["plan": .string(number % 4 == 0 ? "gold" : "free")]
            $0.orderCount = number % 5
            $0.totalSpend = Money(units: Int64(number * 137 % 50_000))
        }
    }

    static let rules = [
        #"{"field":"email","op":"starts_with","value":"g3-1"}"#,
        #"{"and":[{"field":"city","op":"eq","value":"pune"},{"field":"tags","op":"contains","value":"even"}]}"#,
        #"{"field":"attributes.plan","op":"eq","value":"gold"}"#,
        #"{"or":[{"field":"total_spend","op":"gt","value":250},{"field":"order_count","op":"gte","value":4}]}"#,
        #"{"field":"name","op":"starts_with","value":"person 1"}"#,
    ]

    @Test func growingPastItsRoomKeepsCountsExact() throws {
        let index = CustomerIndex()
        var customers: [CustomerState] = []
        let asOf = at("2026-07-01T00:00:00Z")
        let rules = try Self.rules.map { try rule($0) }
        var grewTo: [Int] = []
        for wave in 0..<8 {
            let batch = (0..<(200 + wave * 150)).map { Self.newcomer($0, wave: wave) }
            let before = index.room.reserved
            index.update(batch)
            customers += batch
            let room = index.room
            #expect(room.reserved >= customers.count)
            #expect(room.least >= room.reserved, "wave \(wave): a column has room for \(room.least) rows only")
            if room.reserved != before {
                // An eighth beyond the rows the batch needed at most.
                #expect(room.reserved == customers.count + customers.count / 8, "wave \(wave)")
                grewTo.append(room.reserved)
            }
            #expect(index.customerCount == customers.count)
            for (text, rule) in zip(Self.rules, rules) {
                let expected = customers.count { NaiveEvaluator.matches(rule, $0, asOf: asOf) }
                #expect(index.count(rule, asOf: asOf) == expected, "wave \(wave): \(text)")
            }
        }
        #expect(grewTo.count >= 3, "the index grew \(grewTo.count) times: \(grewTo)")
    }

    /// Counts running beside the updates never see part of a batch, while the room grows under them.
    @Test func countsBesideGrowthSeeWholeBatches() throws {
        let index = CustomerIndex()
        let rule = try rule(#"{"field":"tags","op":"contains","value":"even"}"#)
        let asOf = at("2026-07-01T00:00:00Z")
        let batchSize = 1_000
        let waves = 16
        let seen = Mutex<(counts: [Int], done: Bool)>(([], false))
        let readers = 2
        let finished = DispatchGroup()
        for _ in 0..<readers {
            finished.enter()
            Thread.detachNewThread {
                defer { finished.leave() }
                while true {
                    let done = seen.withLock { $0.done }
                    let count = index.count(rule, asOf: asOf)
                    seen.withLock { $0.counts.append(count) }
                    if done { return }
                }
            }
        }
        for wave in 0..<waves {
            index.update((0..<batchSize).map { Self.newcomer($0, wave: wave) })
        }
        seen.withLock { $0.done = true }
        finished.wait()
        let counts = seen.withLock { $0.counts }
        // Every batch holds batchSize / 2 even numbers.
        let whole = counts.allSatisfy { $0 % (batchSize / 2) == 0 }
        #expect(whole, "a count saw part of a batch: \(counts.filter { $0 % (batchSize / 2) != 0 }.prefix(5))")
        #expect(counts.last == waves * batchSize / 2)
        #expect(index.room.reserved >= waves * batchSize)
    }
}
