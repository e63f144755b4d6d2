import Events
import Projections
import Segments
import Testing

@Suite("preview cache and parallel reads")
struct PreviewCacheTests {
    @Test("a rule asked again at the same index version is a cache hit; an update or another moment is not")
    func cache() throws {
        let people = index([
            customer("a") { $0.city = "Pune" }, customer("b") { $0.city = "Pune" }, customer("c") { $0.city = "Delhi" },
        ])
        let pune = try rule(#"{"field":"city","op":"eq","value":"pune"}"#)
        let now = at("2026-06-15T00:00:00Z")
        #expect(people.preview(pune, asOf: now, sampleSize: 5).count == 2)
        let before = people.previewCacheHits
        #expect(people.preview(pune, asOf: at("2026-06-16T00:00:00Z"), sampleSize: 5).count == 2)
        #expect(people.previewCacheHits.hits == before.hits + 1, "no day field: the moment does not matter")
        people.update([customer("c") { $0.city = "Pune" }])
        #expect(people.preview(pune, asOf: now, sampleSize: 5) == (3, ["a", "b", "c"]), "an update is seen at once")
        #expect(people.previewCacheHits.misses == before.misses + 1)
        let recent = try rule(#"{"field":"days_since_signup","op":"lt","value":30}"#)
        _ = people.preview(recent, asOf: now, sampleSize: 0)
        _ = people.preview(recent, asOf: at("2026-06-16T00:00:00Z"), sampleSize: 0)
        #expect(people.previewCacheHits.misses == before.misses + 3, "day fields: another moment, another answer")
    }

    @Test("previews in parallel with updates see whole batches and agree with a fresh index")
    func parallelReads() async throws {
        var customers = (0..<2_000).map { number in customer("c\(number)") { $0.city = number % 2 == 0 ? "Pune" : "Delhi" } }
        let shared = index(customers)
        let pune = try rule(#"{"field":"city","op":"eq","value":"pune"}"#)
        let now = at("2026-06-15T00:00:00Z")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Batches of 100 move to Pune, one batch at a time.
                for batch in stride(from: 1, to: 2_000, by: 200) {
                    shared.update((batch..<batch + 200).filter { $0 % 2 == 1 }.map { number in
                        customer("c\(number)") { $0.city = "Pune" }
                    })
                }
            }
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<200 {
                        let count = shared.preview(pune, asOf: now, sampleSize: 0).count
                        #expect(count >= 1_000 && count <= 2_000 && (count - 1_000) % 100 == 0, "whole batches only")
                    }
                }
            }
            try await group.waitForAll()
        }
        for number in 0..<2_000 { customers[number].city = "Pune" }
        #expect(shared.preview(pune, asOf: now, sampleSize: 3) == index(customers).preview(pune, asOf: now, sampleSize: 3))
    }
}
