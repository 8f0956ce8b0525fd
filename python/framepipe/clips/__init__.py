"""MoviePy-style clips over framepipe (``VideoFileClip`` and friends).

The readers live in private modules (``_video_file``: :class:`VideoFileReader`); what this package
exports is defined elsewhere.
"""
