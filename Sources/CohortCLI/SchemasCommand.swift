import ArgumentParser
import CommandSupport
import Events
import Foundation

/// `cohort schemas`: writes or checks the JSON Schemas generated from the event specs.
struct SchemasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schemas",
        abstract: "Write the JSON Schemas (2020-12) of the CloudEvent envelope and every event type, or check them.")

    @Option(help: "Directory to write the schema files into.")
    var out: String?

    @Option(help: "Directory whose schema files must equal the generated ones (exit 1 when not).")
    var check: String?

    func validate() throws {
        guard (out == nil) != (check == nil) else { throw ValidationError("give exactly one of --out or --check") }
    }

    func run() throws {
        var stale: [String] = []
        for (fileName, document) in JSONSchemaWriter.allDocuments() {
            let text = document.prettyText
            if let out {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                try text.write(
                    toFile: (out as NSString).appendingPathComponent(fileName), atomically: true, encoding: .utf8)
            } else if let check {
                let existing = try? String(
                    contentsOfFile: (check as NSString).appendingPathComponent(fileName), encoding: .utf8)
                if existing != text { stale.append(fileName) }
            }
        }
        if !stale.isEmpty {
            Output.error("schemas out of date: \(stale.joined(separator: ", ")); run `cohort schemas --out schemas`")
            throw ExitCode(1)
        }
    }
}

/// `cohort validate`: checks NDJSON CloudEvents from stdin, one verdict per line on stdout.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate structured-mode CloudEvents, one JSON object per line on stdin.",
        discussion: "Prints one JSON verdict per input line; exits 1 when any line is invalid.")

    @Option(help: "Longest input line accepted, in bytes.")
    var lineBytesMax = 1 << 20

    func run() throws {
        var lineNumber = 0
        var invalid = 0
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            var verdict = JSONObject([("line", .number(JSONNumber(Int64(lineNumber))))])
            let result: Result<CloudEvent, EventValidationError> =
                line.utf8.count > lineBytesMax
                ? .failure(
                    EventValidationError([
                        ValidationProblem(pointer: "", message: "line longer than \(lineBytesMax) bytes")
                    ]))
                : CloudEvent.decode(structured: Array(line.utf8))
            switch result {
            case .success(let event):
                verdict["valid"] = .bool(true)
                verdict["type"] = .string(event.type.rawValue)
                verdict["key"] = .string(event.key)
            case .failure(let error):
                invalid += 1
                verdict["valid"] = .bool(false)
                verdict["problems"] = .array(
                    error.problems.map { problem in
                        .object(
                            JSONObject([("pointer", .string(problem.pointer)), ("message", .string(problem.message))]))
                    })
            }
            Output.line(JSONValue.object(verdict).jsonText)
        }
        if invalid > 0 { throw ExitCode(1) }
    }
}
