"""Pictures of a :class:`~jaxviz.results.Run`: layout (:mod:`.layout`), colours (:mod:`.colours`),
matplotlib tiles (:mod:`.tiles`), the pixel compositor for animations (:mod:`.compositor`) and
comparison plots (:mod:`.plots`). Views read results (through :mod:`jaxviz.analysis`), never train."""
