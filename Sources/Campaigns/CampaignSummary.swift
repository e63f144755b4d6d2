import Foundation
import Projections

/// The deterministic performance summary: the same stats always give the same sentence.
public enum CampaignSummary {
    public static func text(_ campaign: CampaignState, stats: CampaignStats) -> String {
        func count(_ value: Int) -> String {
            let formatter = NumberFormatter()
            formatter.numberStyle = .decimal
            formatter.locale = Locale(identifier: "en_US")
            return formatter.string(from: NSNumber(value: value)) ?? String(value)
        }
        func share(_ part: Int, of whole: Int) -> String {
            whole == 0 ? "0.0 %" : String(format: "%.1f %%", Double(part) * 100 / Double(whole))
        }
        guard stats.queued > 0 else {
            return "\"\(campaign.name)\" is \(campaign.status.rawValue) and has not queued any message yet."
        }
        var text = "\"\(campaign.name)\" (\(campaign.status.rawValue)) reached \(count(stats.queued)) customers; "
        text += "\(count(stats.sent)) messages were sent (\(share(stats.sent, of: stats.queued)))"
        text += ", \(count(stats.failed)) failed and \(count(stats.pending)) are pending. "
        text += "\(count(stats.delivered)) were delivered (\(share(stats.delivered, of: stats.sent)) of sent), "
        text += "\(count(stats.opened)) opened and \(count(stats.clicked)) clicked; \(count(stats.bounced)) bounced."
        return text
    }
}
