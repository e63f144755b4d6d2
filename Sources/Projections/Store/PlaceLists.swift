/// The places of each customer slot's orders: per slot a list threaded through two flat arrays, instead of an
/// array per customer, a heap object of its own whose header the fold read (most often a cache miss) on every
/// order it added.
struct PlaceLists {
    /// Per slot: its place added last, or -1.
    private var last: [Int32] = []
    /// Per place: the place its slot had before it, or -1.
    private var previous: [Int32] = []
    /// Per place: its slot.
    private var slots: [Int32] = []

    mutating func reserveCapacity(slots: Int, places: Int) {
        last.reserveCapacity(slots)
        previous.reserveCapacity(places)
        self.slots.reserveCapacity(places)
    }

    /// A new slot, with no places.
    mutating func addSlot() { last.append(-1) }

    /// Adds `place`, the next place (places are numbered 0, 1, 2… as they are added), to `slot`.
    mutating func add(place: Int, toSlot slot: Int) {
        precondition(place == previous.count, "places are added in order")
        previous.append(last[slot])
        slots.append(Int32(slot))
        last[slot] = Int32(place)
    }

    /// Every slot's places at once, grouped by slot in two passes over the places: slot `s` has
    /// `places[starts[s]..<starts[s + 1]]`, in the order they were added; cleared slots have none. For reading many
    /// slots' places, where following each slot's list took a cache miss per place.
    func grouped() -> (starts: [Int], places: [Int]) {
        // A cleared slot is one whose list is empty though it had places (a slot gets none after being cleared).
        let (starts, places) = Self.group(slots, slotCount: last.count) { last[$0] >= 0 }
        return (starts, places)
    }

    /// The indices of `slots` grouped by the slot they hold, with a counting sort (one pass to count, one to
    /// place): slot `s` has `members[starts[s]..<starts[s + 1]]`, in index order; slots `keeps` refuses have none.
    static func group(_ slots: [Int32], slotCount: Int, keeping keeps: (Int) -> Bool = { _ in true }) -> (
        starts: [Int], members: [Int]
    ) {
        var starts = [Int](repeating: 0, count: slotCount + 1)
        for slot in slots where keeps(Int(slot)) { starts[Int(slot) + 1] += 1 }
        for slot in 0..<slotCount { starts[slot + 1] += starts[slot] }
        var next = starts
        var members = [Int](repeating: 0, count: starts[slotCount])
        for (index, slot) in slots.enumerated() where keeps(Int(slot)) {
            members[next[Int(slot)]] = index
            next[Int(slot)] += 1
        }
        return (starts, members)
    }

    /// Drops every place of `slot` (they stay numbered).
    mutating func clear(slot: Int) { last[slot] = -1 }

    /// The places of `slot`, in the order they were added.
    func places(of slot: Int) -> [Int] {
        var places: [Int] = []
        var place = last[slot]
        while place >= 0 {
            places.append(Int(place))
            place = previous[Int(place)]
        }
        return places.reversed()
    }
}
