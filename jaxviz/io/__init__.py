"""Files: atomic writers, CSV and TOML (:mod:`.files`), animations (:mod:`.video`) and the run
folder (:mod:`.runfolder`). Nothing here imports the engine."""
