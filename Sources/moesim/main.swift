import Foundation
import MoESimCLI

exit(CLI.main(Array(CommandLine.arguments.dropFirst())))
