"""Triage: decides the route of every first message (safety screen, scope catalogue, FAQ, classifier).

The heavy parts (embeddings, scikit-learn) are imported lazily by `engine`; `vocabulary`, `lexicon`
and `catalogue` are pure Python so that the Rasa server (Python 3.10, no torch) can import them.
"""
