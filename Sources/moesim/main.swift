import MoESimCLI

