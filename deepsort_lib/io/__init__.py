"""The edge of the library: frame sources, MOTChallenge files, outputs and drawing.

``video`` (sources, video writer), ``mot`` (MOTChallenge files, detection cache), ``sinks``
(pipeline outputs), ``draw`` (annotation), ``atomic`` (temp-file-and-rename writes),
``background`` (prefetching and background writing).
"""
