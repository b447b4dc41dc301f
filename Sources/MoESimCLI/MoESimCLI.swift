/// MoESimCLI module.
