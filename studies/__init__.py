"""studies: study definitions (one file each) and the runner, ``python -m studies.run <study>``."""
