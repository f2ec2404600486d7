"""Word lists of the naming rules: words that join a title, and words no title starts or ends with.

All entries are lower case (compared with ``str.casefold``).
"""

from __future__ import annotations

CONNECTORS = frozenset("of in for on with de del della des di du da do en von für".split())
"""Stopwords that may stand inside a title ("Reflection in Java", "Traduction en français")."""

JOINERS = CONNECTORS | frozenset(
    "a an the to about from la le les el los las un une una der die das mit".split()
)
"""Words that may join two keyphrases into one name ("Letter for a PhD Position")."""

FILLER_WORDS = frozenset(
    """
    act add answer ask asked assist assistant called chatgpt continue create describe
    explain find generate get give go help imagine keep kindly know learn let make need
    present pretend provide remember rewrite show summarize summarise tell thank thanks
    try understand using want write writing based
    hola escribe escríbeme explica explícame dame ayúdame necesito crea
    bonjour salut écris écrivez explique expliquez donne aide merci
    peux-tu pouvez-vous
    hallo schreibe schreib erkläre erklär gib bitte danke
    ciao scrivi spiega dammi aiutami grazie
    olá oi escreva explique
    привет здравствуйте напиши напишите объясни расскажи создай помоги дай пожалуйста спасибо
    """.split()
)
"""Request verbs, greetings and politeness: a title neither starts nor ends with them."""

GREETINGS = frozenset(
    "你好 您好 嗨 哈喽 大家好 こんにちは こんばんは おはよう おはようございます "
    "สวัสดี สวัสดีครับ สวัสดีค่ะ".split()
)
"""Greetings of scripts without spaces: a clause that is one of them names nothing."""

UNSPACED_PREFIXES = ("请帮我", "请帮忙", "请问", "帮我", "请你", "请", "你能", "能否", "可以")
"""Polite openings of Chinese requests, removed from the start of a clause."""
