"""MoviePy's ``moviepy.video.io.ffmpeg_writer``, ``ffmpeg_reader`` and ``gif_writers`` on framepipe's
own machinery: the engine encodes (x264 MP4, GIF) in-process, PyAV (libav) decodes and probes
in-process; no ffmpeg program runs. See :mod:`.writer`, :mod:`.reader` and :mod:`.infos`."""
