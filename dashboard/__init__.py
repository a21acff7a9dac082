"""Lambda Lens: the product on top of the AWS layer.

Domain modules (pure functions over frames) live here; page scripts live in
``dashboard/pages``; ``python -m dashboard`` is the command-line face.
"""

from dashboard.present.text import keep_logs_one_line

keep_logs_one_line()  # upstream text in a log message (an error from AWS, a tag) can never forge a log line
