"""Region names: the national administrative division codes (行政区划代码) as data, looked up
by code (:mod:`.names`), and the read API ``/v1/regions`` (:mod:`.router`)."""
