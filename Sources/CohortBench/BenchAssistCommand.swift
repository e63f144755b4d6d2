import ArgumentParser
import Assist
import CommandSupport
import Foundation
import Segments

/// `cohort bench assist`: how often words → rules gives exactly the rule the words mean, on the committed
/// evaluation set; the offline parser always, a language model too when given one.
struct BenchAssistCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assist",
        abstract:
            "Score words → rules on the evaluation set: exact-match rate and latency, offline and optionally LLM.",
        discussion: """
            Each phrasing of the set (Sources/Assist/Resources/phrasings.json, or --set) is parsed with the set's \
            date, cities and tags; it counts as right when the rule equals the expected one in canonical form and \
            the answer is not partial, and, for the phrasings no rule can express, when the answer says it is \
            partial. With --llm, the same phrasings go to that OpenAI-compatible endpoint (--model; key from \
            COHORT_ASSIST_LLM_API_KEY) through the node's own client and rule decoder; an answer that fell back \
            to the offline parser counts as the model's miss.
            """)

    @Option(help: "An evaluation set in the bundled format instead of the bundled one.")
    var set: String?

    @Option(help: "OpenAI-compatible API root to score as well, e.g. https://api.openai.com/v1.")
    var llm: String?

    @Option(help: "Model name for --llm.")
    var model = "gpt-4o-mini"

    @Option(help: "Deadline of one model request, in milliseconds.")
    var timeoutMs = 30_000

    @Flag(help: "Print every miss with what was parsed and what was expected.")
    var showMisses = false

    func run() async throws {
        let evaluation =
            try set.map { try PhraseEvaluation.load(Data(contentsOf: URL(fileURLWithPath: $0))) }
            ?? PhraseEvaluation.bundled()
        let catalogue = FieldCatalogue(
            cities: evaluation.vocabulary.cities, tags: evaluation.vocabulary.tags, currency: evaluation.currency,
            today: evaluation.now)
        Output.line("evaluation set: \(evaluation.cases.count) phrasings at \(evaluation.now)")
        let parser = PhraseParser(currency: evaluation.currency, vocabulary: evaluation.vocabulary)
        report("offline", await evaluation.run { parser.parseNow($0, now: evaluation.now) })
        guard let llm else { return }
        let logger = LoggingSetup.logger("cohort.bench", level: "warning")
        let client = ChatClient(
            settings: LLMSettings(
                baseURL: llm, model: model,
                apiKey: ProcessInfo.processInfo.environment["COHORT_ASSIST_LLM_API_KEY"] ?? "", timeoutMs: timeoutMs),
            logger: logger)
        let assistant = RuleAssistant(client: client)
        var done = 0
        let outcomes = await evaluation.run { text in
            let answer = await assistant.parse(text, now: evaluation.now, catalogue: catalogue)
            done += 1
            if done % 10 == 0 || done == evaluation.cases.count {
                Output.error("llm: \(done)/\(evaluation.cases.count) phrasings")
            }
            guard answer.source == "llm" else { return ParsedRule(rule: nil, english: "", unknownWords: [text]) }
            return ParsedRule(rule: answer.rule, english: answer.english, unknownWords: answer.notUnderstood)
        }
        report("llm \(model)", outcomes)
    }

    private func report(_ label: String, _ outcomes: [PhraseEvaluation.Outcome]) {
        let right = outcomes.filter(\.passed).count
        let latencies = outcomes.map(\.milliseconds).sorted()
        let rate = Double(right) * 100 / Double(max(1, outcomes.count))
        Output.line(
            "\(label): \(right)/\(outcomes.count) exact (\(String(format: "%.1f", rate)) %), latency median "
                + "\(String(format: "%.3f", BenchMeasure.median(latencies))) ms, p90 "
                + "\(String(format: "%.3f", latencies[min(latencies.count - 1, latencies.count * 9 / 10)])) ms")
        if showMisses {
            for outcome in outcomes where !outcome.passed {
                Output.line("  miss: \(outcome.text)\n    got      \(outcome.got)\n    expected \(outcome.expected)")
            }
        }
    }
}
