"""The application layer: what each command does, as glue between the command line (or a
library call) and the pipeline: the overlay, detect and clean direct modes, running a recipe, and
export orchestration. It imports the pipeline and the domain packages; nothing below imports it.

Importing this package imports none of its modules (``import maskforge`` stays cheap).
"""
