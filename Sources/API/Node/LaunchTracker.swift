import Foundation
import Synchronization

/// Campaign launches this node is appending in the background: a launch is accepted at once (202, after
/// `crm.campaign.launching` is durable) and its personalised messages are appended in durable slices while the page
/// shows the progress. Kept per node and in memory: a launch cut short by a crash leaves the campaign launching, and
/// the next node to catch up resumes it (`CohortAPI.resumeLaunches`); the same message ids fold once.
public final class LaunchTracker: Sendable {
    public struct Progress: Sendable, Equatable {
        public enum State: String, Sendable { case appending, done, failed }
        public let campaignID: String
        public var state: State = .appending
        /// Recipients of the audience, as counted when the launch was accepted.
        public var audience: Int
        /// Messages durably appended so far.
        public var appended = 0
        public var error: String?
        public let startedAt: Date
    }

    private let launches = Mutex<[String: Progress]>([:])

    public init() {}

    /// Registers a launch of `campaignID`; false when one is appending already (the caller answers with its progress).
    func start(_ campaignID: String, audience: Int) -> Bool {
        launches.withLock { launches in
            if launches[campaignID]?.state == .appending { return false }
            launches[campaignID] = Progress(campaignID: campaignID, audience: audience, startedAt: Date())
            return true
        }
    }

    func update(_ campaignID: String, _ change: (inout Progress) -> Void) {
        launches.withLock { launches in
            if var progress = launches[campaignID] {
                change(&progress)
                launches[campaignID] = progress
            }
        }
    }

    public func progress(_ campaignID: String) -> Progress? { launches.withLock { $0[campaignID] } }

    public func all() -> [Progress] { launches.withLock { Array($0.values) } }
}

/// A per-second rate of a growing total, measured between calls at least a second apart over the last minute.
final class RateMeter: Sendable {
    private let samples = Mutex<[(at: ContinuousClock.Instant, total: Int64)]>([])

    /// The rate over the samples of the last minute, after recording `total` now.
    func rate(total: Int64) -> Int64 {
        let now = ContinuousClock.now
        return samples.withLock { samples in
            if let last = samples.last, now - last.at < .seconds(1) {
                // Too soon for a new sample: the rate of the window so far.
            } else {
                samples.append((now, total))
            }
            samples.removeAll { now - $0.at > .seconds(60) }
            guard let first = samples.first, let last = samples.last, last.at > first.at else { return 0 }
            let seconds =
                Double((last.at - first.at).components.attoseconds) / 1e18
                + Double((last.at - first.at).components.seconds)
            return Int64((Double(last.total - first.total) / seconds).rounded())
        }
    }
}
