"""The pure-JAX engine: the task (:mod:`.task`), the padded MLP (:mod:`.model`), Keras-exact
optimisers (:mod:`.optim`), training (:mod:`.train`), surfaces (:mod:`.surfaces`), the memory
plan (:mod:`.plan`) and devices (:mod:`.devices`). It draws nothing and writes no files."""
