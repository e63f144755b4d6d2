import ArgumentParser
import CohortConfig
import CommandSupport

/// `cohort config`: shows the effective configuration and where each key can be set.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Print the effective configuration (file < COHORT_* environment < flags).")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let configuration = try options.load()
        for setting in Settings.all {
            Output.line(
                "\(setting.key) = \"\(setting.value(in: configuration))\""
                    + "    # \(setting.environmentName): \(setting.summary)"
            )
        }
    }
}
