import Events

/// Folds segment, campaign and message events. Pure: no I/O.
public enum CampaignFold {
    /// Applies a campaign lifecycle event. Returns the campaign unchanged for transitions its status does not allow
    /// (e.g. resuming a running campaign), so replays and redeliveries are harmless.
    public static func apply(_ payload: EventPayload, at time: Timestamp, to campaign: CampaignState?) -> CampaignState?
    {
        switch payload {
        case .campaignCreated(let created):
            // The first definition wins; a campaign is not redefined by a second `created`.
            if let campaign { return campaign }
            var state = CampaignState(
                campaignID: created.campaignID, name: created.name, template: created.template, channel: created.channel
            )
            state.segmentID = created.segmentID
            state.rulesJSON = created.rules.map { JSONValue.object($0).jsonText }
            state.rateLimitPerSecond = created.rateLimitPerSecond
            state.audienceAsOf = created.audienceAsOf
            state.createdAt = time
            state.record("created", by: created.actor, at: time)
            return state
        case .campaignLaunching(let launching):
            // The audience is fixed now; the actor is recorded with `launched`, once every message is queued.
            guard var state = campaign, state.status == .draft else { return campaign }
            state.status = .launching
            state.audienceAsOf = launching.audienceAsOf ?? state.audienceAsOf ?? time
            state.audience = launching.audience
            return state
        case .campaignLaunched(let launched):
            guard var state = campaign, state.status == .draft || state.status == .launching else { return campaign }
            state.status = .running
            state.launchedAt = time
            state.audienceAsOf = launched.audienceAsOf ?? state.audienceAsOf ?? time
            state.audience = launched.audience
            state.record("launched", by: launched.actor, at: time)
            return state
        case .campaignPaused(let change):
            return transition(campaign, from: [.running], to: .paused, at: time, by: change.actor, as: "paused")
        case .campaignResumed(let change):
            return transition(campaign, from: [.paused], to: .running, at: time, by: change.actor, as: "resumed")
        case .campaignCancelled(let change):
            return transition(
                campaign, from: [.draft, .launching, .running, .paused], to: .cancelled, at: time, by: change.actor,
                as: "cancelled")
        case .campaignCompleted(let change):
            return transition(
                campaign, from: [.running, .paused], to: .completed, at: time, by: change.actor, as: "completed")
        default:
            return campaign
        }
    }

    private static func transition(
        _ campaign: CampaignState?, from allowed: Set<CampaignState.Status>, to status: CampaignState.Status,
        at time: Timestamp, by actor: String?, as action: String
    ) -> CampaignState? {
        guard var state = campaign, allowed.contains(state.status) else { return campaign }
        state.status = status
        if status == .completed || status == .cancelled { state.finishedAt = time }
        state.record(action, by: actor, at: time)
        return state
    }

    /// A retry (messages re-queued by someone) in the campaign's audit trail.
    public static func recordRetry(by actor: String?, at time: Timestamp, to campaign: CampaignState?) -> CampaignState?
    {
        guard var state = campaign, actor != nil else { return campaign }
        state.record("retried", by: actor, at: time)
        return state
    }

    /// Applies a message event to the message and its campaign's counters. Counters move only on real
    /// transitions: a redelivered `sent` or a second `delivered` receipt changes nothing.
    public static func apply(
        _ payload: EventPayload, at time: Timestamp, to message: MessageState?, stats: CampaignStats
    ) -> (message: MessageState, stats: CampaignStats) {
        let event: MessageEvent
        let kind: String
        switch payload {
        case .messageQueued(let value): (event, kind) = (value, "queued")
        case .messageSent(let value): (event, kind) = (value, "sent")
        case .messageFailed(let value): (event, kind) = (value, "failed")
        case .messageReceipt(let value): (event, kind) = (value, "receipt")
        default: preconditionFailure("CampaignFold.apply(message:) takes message events only")
        }
        var stats = stats
        var state: MessageState
        if let message {
            state = message
        } else {
            state = MessageState(messageID: event.messageID, campaignID: event.campaignID)
            if kind == "receipt" {
                // A receipt may overtake the message's own events, or name a message that never comes: it is kept
                // and counted apart until a queued, sent or failed event names the message.
                state.delivery = .unmatched
            } else {
                // A message first seen through sent/failed still counts as queued, so stats add up.
                stats.queued += 1
            }
        }
        if state.delivery == .unmatched && kind != "receipt" {
            // The message appears: it counts as queued from now on, and its receipts leave the unmatched count
            // (they are counted once it is sent, below).
            state.delivery = .queued
            stats.queued += 1
            stats.unmatchedReceipts -= state.receipts.count
        }
        state.customerID = event.customerID ?? state.customerID
        state.channel = event.channel ?? state.channel
        let at = event.at ?? time
        switch kind {
        case "queued":
            state.to = event.to ?? state.to
            state.body = event.body ?? state.body
            if message != nil && state.delivery == .failed {
                // retry-failed re-queues a failed message.
                stats.failed -= 1
                state.delivery = .queued
            }
        case "sent":
            state.attempts = max(state.attempts, Int(event.attempt ?? 1))
            if state.delivery != .sent {
                if state.delivery == .failed { stats.failed -= 1 }
                state.delivery = .sent
                stats.sent += 1
                // Receipts that overtook the `sent` event count now.
                for receipt in state.receipts { stats.countReceipt(receipt) }
            }
        case "failed":
            state.attempts = max(state.attempts, Int(event.attempt ?? 1))
            if state.delivery == .queued {
                state.delivery = .failed
                stats.failed += 1
            }
        default:
            let status = event.status ?? "delivered"
            if !state.receipts.contains(status) {
                state.receipts.append(status)
                state.receipts.sort()
                // Receipts never exceed sent: one for a message not (yet) sent waits for its `sent`.
                if state.delivery == .sent { stats.countReceipt(status) }
                if state.delivery == .unmatched { stats.unmatchedReceipts += 1 }
            }
        }
        state.history.append(
            MessageState.Step(
                status: kind == "receipt" ? (event.status ?? "delivered") : kind, at: at, reason: event.reason))
        if state.history.count > MessageState.historyMax {
            state.history.removeFirst(state.history.count - MessageState.historyMax)
        }
        return (state, stats)
    }
}
