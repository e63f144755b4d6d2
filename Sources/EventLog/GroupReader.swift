/// A reader that shares the partitions of its topics with the other members of its group (Kafka's consumer groups):
/// each partition is read by one member at a time, from the offset the group committed last; when a member leaves or
/// stops heartbeating, its partitions move to the others, which go on from the last commit.
public protocol GroupReader: LogReader {
    /// Records for the group that everything below these offsets is handled, for the partitions this member holds
    /// now (the others moved to another member, whose commits stand). During a rebalance it fails; work since the
    /// last commit of a partition that moved is done again by its new owner.
    func commit(_ positions: [TopicPartition: Int64]) async throws(EventLogError)
}

/// A log whose readers can share partitions in groups: Kafka. (One machine's embedded log has one reader per task.)
public protocol GroupReadableLog: EventLog {
    /// A member of group `group` reading `topics`.
    func makeGroupReader(group: String, topics: [String]) async throws(EventLogError) -> any GroupReader
}
