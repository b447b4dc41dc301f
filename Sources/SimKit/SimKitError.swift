/// An error thrown by SimKit for invalid input parameters.
public struct SimKitError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A human-readable explanation of what was wrong.
    public var message: String

    /// Creates an error carrying `message`.
    public init(_ message: String) {
        self.message = message
    }

    /// The error message.
    public var description: String { message }
}
