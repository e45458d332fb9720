"""Akhbar's browser UI (Gradio). ``ui.app.launch`` serves it; ``ui.render`` formats HTML.

Gradio's analytics are switched off before gradio is imported: the app must make no
outbound request.
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
