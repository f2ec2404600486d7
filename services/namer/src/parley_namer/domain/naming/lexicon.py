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

LEAD_WORDS = frozenset(
    """
    please pls plz kindly hi hello hey ok okay so now also just briefly quickly simply again
    can could would will shall may might must you u me us i we i'd i'm let's lets let
    help assist want need like love wish to write create make generate give provide draft
    compose design build develop code implement list suggest recommend explain describe
    summarize summarise tell show teach find prepare outline rewrite translate improve fix
    correct check review analyze analyse compare do does did is are was were be should
    a an the some any how what what's whats why who which where tell about regarding for
    up come with detailed short brief simple quick new few couple bunch series set number
    know learn go familiar respond reply answer continue complete this these my your our it
    in let's lets talk discuss play test
    hola por favor puedes podrías podrias escribe escríbeme escribir explica explícame
    explicame dame dime ayúdame ayudame necesito quiero crea crear haz genera cómo como qué
    que cuál cual es son un una unos unas el la los las lo me sobre acerca de del
    bonjour salut peux-tu pouvez-vous peux pouvez tu vous écris écrivez écrire explique
    expliquez explique-moi écris-moi donne donne-moi donnez-moi aide aide-moi je voudrais veux
    besoin crée créer fais faire génère comment quoi quel quelle est sont un une des le la les
    moi sur merci
    hallo bitte kannst du können sie schreibe schreib schreiben erkläre erklär erklären gib
    hilf ich möchte brauche erstelle erstellen mach wie was ist sind ein eine einen einem
    der die das den mir über zu
    ciao puoi potresti scrivi scrivimi spiega spiegami dammi aiutami vorrei voglio crea
    creare fai genera come cosa è sono uno il lo gli mi su
    olá oi pode podes poderia escreva escreve explique explica dê me ajude preciso quero
    faça gere o os um uma umas uns sobre
    привет здравствуйте пожалуйста напиши напишите написать объясни объясните расскажи
    расскажите создай создайте помоги помогите дай дайте сделай сделайте придумай придумайте
    составь составьте можешь можете ты вы мне нам как что такое какой какая какие это
    про о об
    hãy viết cho tôi mình giúp giải thích làm một những các là gì sao như thế nào bạn
    """.split()
)
"""Words a request opens with in the major languages: politeness, request verbs, question
words, auxiliaries, articles and pronouns. A title starts after them ("Can you write me a poem
about the sea" is about "poem about the sea")."""

LEAD_NOUNS_OF = frozenset("list lists couple bunch series set number kind sort type".split())
"""Nouns that, followed by "of", only count what follows ("a list of fun facts")."""

BOUNDARY_WORDS = frozenset(
    """
    that which who whom whose where when while because so if but since unless whether than
    then please i you it he she they we i'm you're it's there here based etc
    is are was were has have had do does did can could would will shall should may might must
    que qui quoi dont où quand parce si mais porque cuando donde pero dass weil wenn aber
    damit che perché quando dove ma что чтобы который которая которые если когда потому но
    """.split()
)
"""Words that open a new clause: a title made from a request ends before them."""

PREAMBLES = (
    r"you\s+are\b|you're\b|youre\b|act\s+(?:as|like)\b|acting\s+as\b|pretend\b|imagine\s+you\b"
    r"|ignore\b|disregard\b|forget\b|from\s+now\s+on\b|i\s+want\s+you\s+to\s+(?:act|be|pretend"
    r"|play|take|assume|respond|answer|reply|remember|only)\b|i\s+will\s+(?:give|provide|send"
    r"|share|paste|ask|type)\b|i'?m\s+going\s+to\s+(?:give|provide|send|share|paste|ask)\b"
    r"|i\s+am\s+going\s+to\s+(?:give|provide|send|share|paste|ask)\b|here\s+(?:is|are)\b"
    r"|here's\b|below\s+is\b|the\s+following\b|web\s+search\s+results\b"
    r"|your\s+(?:task|job|role|goal)\b"
    r"|as\s+an?\s+\w+(?:\s+\w+)?\s*,"
    r"|ты\s+(?:-\s+)?(?:опытный|профессиональный|эксперт)|представь|игнорируй"
    r"|eres\s+un|actúa\s+como|tu\s+es\s+un|agis\s+comme|du\s+bist\s+ein|sei\s+un"
)
"""Openings of sentences that set a role or announce material instead of asking something
(regular expression, matched case-insensitively at a sentence's start)."""
