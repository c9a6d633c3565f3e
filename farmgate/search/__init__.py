"""Product search: one ``SearchBackend`` interface (``backend.py``), the embedded engine
(``embedded.py``, the default) and Meilisearch (``meili.py``, when FARMGATE_MEILI_URL is
set), sharing the Chinese analysis in ``analysis.py`` and the dictionary ``dictionary.txt``."""
