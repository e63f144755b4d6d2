/// What a batch adds to each counter.
struct CounterDeltas {
    var events: Int64 = 0
    var duplicates: Int64 = 0
    var deadLetters: Int64 = 0
    var customers: Int64 = 0
    var unmatchedReceipts: Int64 = 0

    var all: [(ReadModelStore.Counter, Int64)] {
        [
            (.events, events), (.duplicates, duplicates), (.deadLetters, deadLetters), (.customers, customers),
            (.unmatchedReceipts, unmatchedReceipts),
        ]
    }
}
