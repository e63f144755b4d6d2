import Crypto
import Foundation

/// The secrets of one authorization-code flow: `state` (ties the callback to this browser), `nonce` (ties the ID
/// token to this request) and the PKCE verifier, whose SHA-256 (S256) goes to the issuer as the challenge.
public struct AuthorizationRequest: Sendable, Equatable, Codable {
    public let state: String
    public let nonce: String
    public let verifier: String

    public init(state: String, nonce: String, verifier: String) {
        self.state = state
        self.nonce = nonce
        self.verifier = verifier
    }

    /// Fresh random values (32 bytes each, base64url).
    public static func make() -> AuthorizationRequest {
        AuthorizationRequest(state: Base64URL.random(32), nonce: Base64URL.random(32), verifier: Base64URL.random(32))
    }

    /// `BASE64URL(SHA256(verifier))`, RFC 7636's S256.
    public var challenge: String { Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8)))) }
}

/// Unpadded base64url (RFC 4648 §5), as JOSE and PKCE use it.
public enum Base64URL {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }

    public static func random(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return encode((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

/// `application/x-www-form-urlencoded` and query strings.
public enum FormEncoding {
    static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    public static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
