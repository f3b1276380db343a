"""Custom Rasa NLU components (run inside the Rasa server's Python 3.10 environment).

Pure Python on purpose: only Rasa, jieba, zhconv and the project's own pure-Python modules
(`bot.text`, `bot.triage.lexicon`) may be imported here. Reference them in `config.yml` by
their module path, e.g. `bot.nlu.tokenizer.FrontDoorJiebaTokenizer`.
"""
