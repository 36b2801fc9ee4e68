"""What a run is asked to do: hyperparameter names, defaults and validation (:mod:`.config`),
the grid they expand to (:mod:`.grid`), and the named presets (:mod:`.presets`). No JAX here:
everything a user types is checked before anything compiles."""
