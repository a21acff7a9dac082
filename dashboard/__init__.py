"""Lambda Lens: the product on top of the AWS layer.

Domain modules (pure functions over frames) live here; page scripts live in
``dashboard/pages``; ``python -m dashboard`` is the command-line face.
"""
