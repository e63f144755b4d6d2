import Foundation
import Synchronization

/// Read models may be committed without waiting for the disk (`MDB_NOSYNC`). A process that dies then loses
/// nothing, its writes being in the page cache; a machine that goes down may leave the file half written, its
/// pages reaching the disk in any order. So each process writing that way leaves a marker naming the boot it runs
/// in, durable before its first commit, until it has synced and closed; a marker of another boot means the machine
/// went down while a process wrote, and the read models are discarded, to be folded again from the log.
enum UnsyncedWrites {
    /// This boot's id, or nil where the system has none: commits are then synced one by one.
    static let bootID: String? = {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else {
            return nil
        }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }()

    static let markerPrefix = "unsynced-"

    /// Numbers the stores this process opens: each has a marker of its own, removed when that one closes.
    private static let openings = Atomic<Int>(0)

    /// What opening the directory found and did.
    struct Opening {
        /// Whether read models written before the machine went down were removed.
        var discarded = false
        /// This process's marker, when it may commit without syncing.
        var marker: String?
    }

    /// Checks `directory` for markers of another boot (removing the read models and those markers if there are
    /// any) and, when `unsynced`, leaves this process's marker. Under the directory's lock, so that two processes
    /// opening the store at once agree.
    static func open(directory: String, unsynced: Bool) throws -> Opening {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try locked(directory) {
            var opening = Opening()
            let markers = try self.markers(in: directory)
            if markers.contains(where: { $0.boot != bootID }) {
                let timeline = ReadModelStore.timelineDirectory + "/"
                for name in ["data.mdb", "lock.mdb", timeline + "data.mdb", timeline + "lock.mdb"] + markers.map(\.name)
                {
                    let path = directory + "/" + name
                    if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
                }
                opening.discarded = true
            }
            if unsynced, let bootID {
                let name = markerPrefix + String(getpid()) + "-" + String(openings.add(1, ordering: .relaxed).newValue)
                try writeDurably(directory: directory, name: name, text: bootID + "\n")
                opening.marker = directory + "/" + name
            }
            return opening
        }
    }

    /// Removes `marker` once the environment is synced, and the markers of processes of this boot that are gone:
    /// the sync wrote what they left in the page cache too.
    static func release(_ marker: String) throws {
        let directory = (marker as NSString).deletingLastPathComponent
        try locked(directory) {
            for found in try markers(in: directory) where found.boot == bootID {
                let path = directory + "/" + found.name
                if path == marker || (found.pid.map { kill($0, 0) != 0 && errno == ESRCH } ?? false) {
                    try FileManager.default.removeItem(atPath: path)
                }
            }
        }
    }

    /// The markers in `directory`: file name (`unsynced-PID-N`), the boot named in it and the process id.
    private static func markers(in directory: String) throws -> [(name: String, boot: String, pid: pid_t?)] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(markerPrefix) }.map {
            name in
            let text = (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? ""
            return (
                name, text.trimmingCharacters(in: .whitespacesAndNewlines),
                pid_t(name.dropFirst(markerPrefix.count).prefix { $0 != "-" })
            )
        }
    }

    /// Writes a file and syncs it and its directory: on the disk before anything that relies on it.
    private static func writeDurably(directory: String, name: String, text: String) throws {
        let path = directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        for target in [path, directory] {
            let fd = Foundation.open(target, O_RDONLY)
            guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            defer { close(fd) }
            guard fsync(fd) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        }
    }

    /// Runs `body` holding an exclusive lock on the directory.
    private static func locked<T>(_ directory: String, _ body: () throws -> T) throws -> T {
        let fd = Foundation.open(directory, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
