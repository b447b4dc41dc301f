import Testing
@testable import MoESimCLI
