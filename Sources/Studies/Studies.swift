/// Studies module.
