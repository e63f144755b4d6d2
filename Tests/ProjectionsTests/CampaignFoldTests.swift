import Events
@testable import Projections
import Testing

@Suite("campaign and message folds")
struct CampaignFoldTests {
    private func campaign(after events: [(EventType, String)]) throws -> CampaignState? {
        var state: CampaignState?
        for (type, data) in events {
            state = CampaignFold.apply(try payload(type, data), at: at("2024-06-01T00:00:00Z"), to: state)
        }
        return state
    }

    private let created = (
        EventType.campaignCreated, #"{"campaign_id":"k1","name":"Win-back","template":"Hi {{name}}","channel":"sms"}"#
    )
    private let k1 = #"{"campaign_id":"k1"}"#

    @Test("lifecycle: draft → running ⇄ paused → completed; invalid transitions change nothing")
    func lifecycle() throws {
        #expect(try campaign(after: [created])?.status == .draft)
        #expect(try campaign(after: [created, (.campaignResumed, k1)])?.status == .draft)
        let launched = (EventType.campaignLaunched, #"{"campaign_id":"k1","audience":42}"#)
        #expect(try campaign(after: [created, launched])?.audience == 42)
        #expect(try campaign(after: [created, launched, (.campaignPaused, k1)])?.status == .paused)
        #expect(
            try campaign(after: [created, launched, (.campaignPaused, k1), (.campaignResumed, k1)])?.status == .running)
        #expect(
            try campaign(after: [created, launched, (.campaignCompleted, k1), (.campaignResumed, k1)])?.status
                == .completed)
        #expect(
            try campaign(after: [created, (.campaignCancelled, k1), (.campaignLaunched, k1)])?.status == .cancelled)
        #expect(try campaign(after: [(.campaignLaunched, k1)]) == nil)
    }

    @Test("the first definition wins")
    func firstCreateWins() throws {
        let again = (
            EventType.campaignCreated, #"{"campaign_id":"k1","name":"Other","template":"x","channel":"email"}"#
        )
        #expect(try campaign(after: [created, again])?.name == "Win-back")
    }

    private struct Messages {
        var messages: [String: MessageState] = [:]
        var stats = CampaignStats()

        mutating func apply(_ type: EventType, _ id: String, _ extra: String = "") throws {
            let data = #"{"message_id":"k1:\#(id)","campaign_id":"k1","customer_id":"\#(id)"\#(extra)}"#
            let (message, stats) = CampaignFold.apply(
                try payload(type, data), at: at("2024-06-01T00:00:00Z"), to: messages["k1:\(id)"], stats: stats)
            messages["k1:\(id)"] = message
            self.stats = stats
            #expect(stats.queued == stats.sent + stats.failed + stats.pending)
            #expect(stats.delivered + stats.bounced + stats.receiptFailed <= stats.sent)
        }
    }

    @Test("stats are exact: redelivered sends and receipts count once, receipts wait for their send")
    func exactStats() throws {
        var run = Messages()
        for id in ["a", "b", "c", "d"] { try run.apply(.messageQueued, id, #","body":"Hi","to":"+91""#) }
        try run.apply(.messageSent, "a")
        try run.apply(.messageSent, "a")
        try run.apply(.messageReceipt, "a", #","status":"delivered""#)
        try run.apply(.messageReceipt, "a", #","status":"delivered""#)
        try run.apply(.messageReceipt, "a", #","status":"opened""#)
        // A receipt that overtakes its `sent` counts when the send is recorded.
        try run.apply(.messageReceipt, "b", #","status":"delivered""#)
        #expect(run.stats.delivered == 1)
        try run.apply(.messageSent, "b")
        #expect(run.stats.delivered == 2)
        try run.apply(.messageFailed, "c", #","reason":"500","retryable":true"#)
        #expect(
            run.stats
                == {
                    var expected = CampaignStats()
                    (expected.queued, expected.sent, expected.failed, expected.delivered, expected.opened) = (
                        4, 2, 1, 2, 1
                    )
                    return expected
                }())
        #expect(run.stats.pending == 1)
        // retry-failed re-queues c, which is then sent.
        try run.apply(.messageQueued, "c")
        #expect(run.stats.failed == 0 && run.stats.pending == 2)
        try run.apply(.messageSent, "c", #","attempt":2"#)
        #expect(run.stats.sent == 3 && run.stats.queued == 4)
        #expect(run.messages["k1:c"]?.attempts == 2)
        #expect(run.messages["k1:c"]?.history.map(\.status) == ["queued", "failed", "queued", "sent"])
        #expect(run.messages["k1:a"]?.receipts == ["delivered", "opened"])
    }

    @Test("receipts before any event of their message are kept apart, then counted once it is queued and sent")
    func receiptsBeforeTheirMessage() throws {
        var run = Messages()
        try run.apply(.messageReceipt, "early", #","status":"delivered""#)
        try run.apply(.messageReceipt, "early", #","status":"opened""#)
        try run.apply(.messageReceipt, "early", #","status":"opened""#)
        #expect(run.stats.queued == 0 && run.stats.delivered == 0 && run.stats.unmatchedReceipts == 2)
        #expect(run.messages["k1:early"]?.delivery == .unmatched)
        try run.apply(.messageQueued, "early", #","body":"Hi","to":"+91""#)
        #expect(run.stats.queued == 1 && run.stats.pending == 1 && run.stats.unmatchedReceipts == 0)
        #expect(run.stats.delivered == 0, "receipts never exceed sent: they wait for the send")
        try run.apply(.messageSent, "early")
        #expect(run.stats.sent == 1 && run.stats.delivered == 1 && run.stats.opened == 1)
        // Straight to sent, with no queued event seen: counted as queued and sent, receipts with it.
        try run.apply(.messageReceipt, "late", #","status":"bounced""#)
        try run.apply(.messageSent, "late")
        #expect(run.stats.queued == 2 && run.stats.sent == 2 && run.stats.bounced == 1)
        #expect(run.stats.unmatchedReceipts == 0)
    }

    @Test("receipts for a message that never appears are counted apart, never as queued or delivered")
    func receiptsForUnknownMessages() throws {
        var run = Messages()
        for id in ["a", "b"] { try run.apply(.messageQueued, id) }
        try run.apply(.messageSent, "a")
        try run.apply(.messageReceipt, "ghost", #","status":"delivered""#)
        try run.apply(.messageReceipt, "ghost", #","status":"clicked""#)
        #expect(run.stats.queued == 2 && run.stats.sent == 1 && run.stats.pending == 1)
        #expect(run.stats.delivered == 0 && run.stats.clicked == 0 && run.stats.unmatchedReceipts == 2)
        // The encoding keeps the count, and stays what it was for stats without any.
        let roundTrip = try run.stats.encoded().withUnsafeBytes(CampaignStats.init(decoding:))
        #expect(roundTrip == run.stats)
        var plain = run.stats
        plain.unmatchedReceipts = 0
        #expect(plain.encoded().count < run.stats.encoded().count)
    }

    @Test("a message first seen through a sent event still counts as queued")
    func unknownMessage() throws {
        var run = Messages()
        try run.apply(.messageSent, "z")
        #expect(run.stats.queued == 1 && run.stats.sent == 1)
    }

    @Test("history is bounded")
    func boundedHistory() throws {
        var run = Messages()
        try run.apply(.messageQueued, "h")
        for _ in 0..<100 { try run.apply(.messageReceipt, "h", #","status":"clicked""#) }
        #expect(run.messages["k1:h"]?.history.count == MessageState.historyMax)
    }
}
