import Assist
import Events
import Segments
import Testing

@Suite("offline parser against the evaluation set")
struct PhraseEvaluationTests {
    @Test("the committed set has at least 80 phrasings, each expected rule valid")
    func setIsLargeEnough() throws {
        let set = try PhraseEvaluation.bundled()
        #expect(set.cases.count >= 80)
        #expect(set.cases.filter { $0.expected == nil }.count >= 3)
    }

    @Test("the offline parser gets at least 90 % exactly right, and never a confident wrong rule on partial ones")
    func offlineRate() async throws {
        let set = try PhraseEvaluation.bundled()
        let parser = PhraseParser(currency: set.currency, vocabulary: set.vocabulary)
        let outcomes = await set.run { parser.parseNow($0, now: set.now) }
        for outcome in outcomes where !outcome.passed {
            print("MISS \(outcome.text)\n  got      \(outcome.got)\n  expected \(outcome.expected)")
        }
        let passed = outcomes.filter(\.passed).count
        #expect(passed * 10 >= outcomes.count * 9, "\(passed) of \(outcomes.count)")
        let partialCases = set.cases.indices.filter { set.cases[$0].expected == nil }
        for index in partialCases { #expect(outcomes[index].passed, "\(outcomes[index].text) must be partial") }
    }
}
