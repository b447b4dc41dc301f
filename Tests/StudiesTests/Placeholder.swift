import Testing
@testable import Studies
