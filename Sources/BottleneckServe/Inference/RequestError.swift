/// A request the service refuses, with the HTTP status it maps to and one line saying what is
/// wrong. Everything a client can get wrong becomes one of these, never a crash.
public struct RequestError: Error, Equatable, CustomStringConvertible {
    public let status: Int
    public let message: String
    /// Seconds after which a retry may succeed (503 only).
    public var retryAfter: Int?

    public init(status: Int, _ message: String, retryAfter: Int? = nil) {
        (self.status, self.message, self.retryAfter) = (status, message, retryAfter)
    }

    public var description: String { "\(status): \(message)" }

    public static func badRequest(_ m: String) -> RequestError { RequestError(status: 400, m) }
    public static func unauthorized(_ m: String) -> RequestError { RequestError(status: 401, m) }
    public static func notFound(_ m: String) -> RequestError { RequestError(status: 404, m) }
    public static func notAcceptable(_ m: String) -> RequestError { RequestError(status: 406, m) }
    public static func tooLarge(_ m: String) -> RequestError { RequestError(status: 413, m) }
    public static func unsupportedMediaType(_ m: String) -> RequestError { RequestError(status: 415, m) }
    public static func unprocessable(_ m: String) -> RequestError { RequestError(status: 422, m) }
    public static func overloaded(_ m: String, retryAfter: Int = 1) -> RequestError { RequestError(status: 503, m, retryAfter: retryAfter) }
}
