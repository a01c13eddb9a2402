"""A tracking run described by its options: what ``deepsort track`` and the distributed
workers both build from them.

- :mod:`~deepsort_lib.run.options` declares the options;
  :func:`~deepsort_lib.run.options.track_options` gives their defaults.
- :mod:`~deepsort_lib.run.build` builds the detector, encoder, tracker and pipeline they name.
- :mod:`~deepsort_lib.run.arguments` parses option values.

The CLI (:mod:`deepsort_lib.cli`) and :mod:`deepsort_lib.distributed` both stand on this
package; it imports neither.
"""
