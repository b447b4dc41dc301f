/// SimKit: the simulation kernel of moesim.
///
/// Provides simulated time (`SimTime`), a deterministic discrete-event queue
/// (`EventQueue`), seeded random number generators (`SplitMix64`, `Xoshiro256`)
/// with samplers for the distributions a serving simulator needs, descriptive and
/// inferential statistics (`Statistics`, `Summary`, `OneWayANOVA`), curve
/// interpolation (`Interpolation`) and a derivative-free optimiser (`NelderMead`).
