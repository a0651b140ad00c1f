"""Chinese NLU of the arrears assistant.

Plain Python, usable anywhere: ``script`` (Simplified/Traditional conversion and detection),
``numbers`` (amount, months, count, plan choice and date values; built on ``numerals`` and
``dates``), ``entities`` (rule-based entity scanner) and ``hardship`` (hardship reasons from the
keyword table in ``data/hardship_reasons.yml``). ``components`` holds the Rasa graph components
named in config.yml; ``dictionary/`` is jieba's domain dictionary (every file in it is loaded).
"""
