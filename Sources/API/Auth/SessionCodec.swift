import Crypto
import Foundation
import OIDC

/// Seals small JSON documents (sessions, sign-in state, one-time links) with AES-256-GCM under the deployment's
/// session keys: encrypted and authenticated, so any node holding the keys can read what another node sealed and
/// nobody else can read or forge it. Sealing uses the current key; opening tries the current, then the previous.
public struct SessionCodec: Sendable {
    let keys: [SymmetricKey]

    /// What a sealed value is for: a value sealed for one purpose never opens as another.
    public enum Purpose: String, Codable, Sendable {
        case session, signInState = "state", signInLink = "link"
    }

    /// A sealed document's contents.
    public struct Envelope<Body: Codable & Sendable>: Codable, Sendable {
        let purpose: Purpose
        /// Seconds since 1970 after which it is refused.
        let expires: Double
        let body: Body
    }

    /// Keys as configured: base64 of 32 bytes each, comma-separated, current first.
    public init(configured: String) throws {
        var keys: [SymmetricKey] = []
        for (index, text) in configured.split(separator: ",").enumerated() {
            guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespaces)), data.count == 32 else {
                throw ConfigurationProblem(
                    "auth.session_keys: key \(index + 1) is not base64 of 32 bytes "
                        + "(make one with openssl rand -base64 32)"
                )
            }
            keys.append(SymmetricKey(data: data))
        }
        self.keys = keys.isEmpty ? [SymmetricKey(size: .bits256)] : keys
    }

    /// Whether the keys were generated for this process only.
    public static func isEphemeral(_ configured: String) -> Bool {
        configured.trimmingCharacters(in: .whitespaces).isEmpty
    }

    public func seal<Body: Codable & Sendable>(_ body: Body, purpose: Purpose, lifetime: TimeInterval) -> String {
        let envelope = Envelope(purpose: purpose, expires: Date().timeIntervalSince1970 + lifetime, body: body)
        let plain = (try? JSONEncoder().encode(envelope)) ?? Data()
        let sealed = try! AES.GCM.seal(plain, using: keys[0]).combined!
        return Base64URL.encode(sealed)
    }

    /// The body, when `text` was sealed with one of the keys for `purpose` and has not expired.
    public func open<Body: Codable & Sendable>(_ text: String, as _: Body.Type, purpose: Purpose) -> Body? {
        guard text.utf8.count <= 8_192, let bytes = Base64URL.decode(text),
            let box = try? AES.GCM.SealedBox(combined: bytes)
        else { return nil }
        for key in keys {
            guard let plain = try? AES.GCM.open(box, using: key) else { continue }
            guard let envelope = try? JSONDecoder().decode(Envelope<Body>.self, from: plain),
                envelope.purpose == purpose, envelope.expires > Date().timeIntervalSince1970
            else { return nil }
            return envelope.body
        }
        return nil
    }
}

/// A configuration value that cannot be used, with what to do about it.
public struct ConfigurationProblem: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
