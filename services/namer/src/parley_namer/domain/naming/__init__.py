"""Text rules of the offline namer: pure functions over strings, behind small ports.

``cleaning`` and ``fitting`` make any text a valid name; ``prose`` sets code and links aside;
``requests`` strips what a message asks before what it is about; ``phrases`` chooses among
keyphrases; ``unspaced`` names text in scripts written without spaces; ``casing`` spells the
result; ``namer`` puts them together. Libraries (language detection, keyphrases, word
segmentation) are reached through the Protocols of ``ports``.
"""
