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
    act add answer ask asked assist called chatgpt continue create describe
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
    summarize summarise tell show teach find prepare rewrite translate improve fix
    correct check review analyze analyse compare do does did is are was were be should
    a an the some any how what what's whats why who which where tell about regarding for
    up come with detailed short brief simple quick new few couple bunch series set number
    know learn go familiar respond reply answer continue complete this these my your our it
    in let's lets discuss play test understand out say wrong and or but act as solve prove
    calculate compute invent use consider that many much
    finish optimize optimise think assume given suppose simplify evaluate determine estimate
    derive convert refactor debug craft construct produce plan propose name choose select
    identify classify predict rephrase paraphrase if am have has had been get got there
    expand fill re-write following optimze utilizing utilising
    siguiente siguientes suivant suivante suivants folgende folgenden seguente seguinte
    следующий следующую следующие нужно надо
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
    про о об давай давайте у меня какой какое каких каким при посчитай рассчитай
    hãy viết cho tôi mình giúp giải thích làm một những các là gì sao như thế nào bạn tính
    sử dụng
    diketahui buatkan buat tolong jelaskan apa itu bagaimana
    napiši napisi sastavi objasni mi
    θέλω θελω ένα ενα εν γράψε γραψε μου να πες εξήγησε εξηγησε
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
    που ότι οτι επειδή
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
    r"|you've\b|you\s+have\s+been\b|in\s+this\s+(?:conversation|chat|session)\b"
    r"|take\s+a\s+deep\s+breath\b|think\s+step[-\s]by[-\s]step\b|system\s*:?\s+(?=you|your)"
)
"""Openings of sentences that set a role or announce material instead of asking something
(regular expression, matched case-insensitively at a sentence's start)."""

PREAMBLES_UNSPACED = (
    r"你是|您是|你现在是|现在你是|假设你是|请你扮演|扮演|忽略|あなたは|あなたには|君は|以下"
)
"""Openings of clauses in Chinese or Japanese that set a role or announce material."""

UNSPACED_LEAD_WORDS = frozenset(
    """
    请 请问 帮 帮忙 帮我 我 给 你 您 能 能否 可以 可否 写 写出 写一篇 一篇 一首 一个 一段 一份
    解释 解释一下 介绍 介绍一下 求 求解 计算 以下 下面 如下 关于 用 如何 怎么 怎样 什么 是 下
    告诉 推荐 估算 假设 已知 设 证明 对于 生成 创作 编写 列出 描述 题目 问题 一下 个 篇 首 出
    ช่วย เขียน ขอ ให้ ฉัน ผม หน่อย ครับ ค่ะ คะ สอน อธิบาย บอก ทำ ได้ไหม
    """.split()
)
"""Words a request opens with in Chinese and Thai (as their segmenters cut them)."""

UNSPACED_TAIL_WORDS = frozenset("吗 呢 吧 啊 ? ？ 。 ! ！ หน่อย ครับ ค่ะ คะ ได้ไหม".split())
"""Words a request in Chinese or Thai ends with that a title leaves out."""

RUSSIAN_IMPERATIVE = r"^(?:[а-яё]{3,}(?:айте|уйте|ите|ьте|ай|уй)|[а-яё]{5,}и)$"
"""A Russian imperative verb ("посчитайте", "срифмуй"): a request's opening word."""

TRAILING_WORDS = frozenset(
    """
    a an the of in for on with to about from by at into over under and or but nor as than
    then so very just also my your our their his her its this that these those some any each
    is are was were be been being am i you we they he she it me us them what which who how
    why when where there here not no yes please etc
    le la les un une des de du au aux et ou en el los las una del y o der die das ein eine
    einen und oder il lo gli di da e и в на с о по для или а но weiter fort
    và của cho với để là các những một trong về theo
    """.split()
)
"""Function words no title ends with (a topic cut from a request loses them at its end)."""

GENERIC_ROLE_WORDS = frozenset(
    """
    helpful professional expert experienced very highly intelligent smart friendly creative
    skilled world-class great good useful advanced ai assistant writer chatbot bot model
    language large helper specialist genius personal a an the harmless honest
    """.split()
)
"""Words of roles that name no topic ("a helpful AI assistant", "a professional writer")."""
