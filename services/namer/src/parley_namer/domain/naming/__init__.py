"""Text rules of the offline namer: pure functions over strings, behind small ports.

``fitting`` makes any text fit the limits of a name (``..names.clean_name`` cleans it first);
``prose`` sets code and links aside; ``requests`` finds what a message asks for, past its
preambles and request words; ``code`` names code after what it defines; ``phrases`` chooses
among keyphrases; ``unspaced`` names text in scripts written without spaces; ``casing`` spells
the result; ``judging`` tells a conversation's language and judges a name against it;
``lexicon`` holds the word lists; ``namer`` puts them together. Libraries (language detection,
keyphrases, word segmentation) are reached through the Protocols of ``ports``.
"""
