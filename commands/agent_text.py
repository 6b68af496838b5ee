"""Requests phrased by a coding agent reduced to the request: "The user wants...", "On behalf of the user".

Part of command_processor. A preamble that frames the request, quoted user text and a closing
instruction to the agent's tool ("Please perform this operation.") are taken off; what remains is
read as if the user had typed it. An instruction that forbids any change ("do not cancel", "no
changes", "they just want information") makes the whole request read-only, and an explicit look the
agent asks for ("Please show the healthcare pool.") is preferred to the user's quoted question.
"""
from __future__ import annotations

import re

AGENT_RE = re.compile(
    r"\b(?:the user|my user|a user|end user|user (?:request|says|said|wrote|instruction|input|message|query|asks|"
    r"asked|approval)|user'?s (?:question|request|message|exact words|instructions|ask)|request from (?:the )?user|"
    r"on (?:the user'?s )?behalf|acting for|per (?:the )?user|relaying|forwarding|passing along|operator note|"
    r"(?:i'?ll|i will|let me) (?:relay|forward|pass (?:this |that |it )?(?:along|on))|"
    r"coding (?:agent|assistant)|ai (?:agent|assistant)|automated agent|replit agent|\[agent\]|"
    r"(?:i'?m|i am|this is|here)\s+(?:copilot|claude(?: code)?|codex|cursor|gemini|chatgpt|devin|aider)|"
    r"(?:claude(?: code)?|copilot|codex|cursor|gemini|devin|aider) (?:here|relaying)|the developer|a developer|"
    r"(?:the )?operator i'?m (?:assisting|helping)|(?:person|people|someone) i'?m working with|my human|"
    r"as requested by|(?:from|for|by) (?:the |my |a )?user\b|my human|(?:my|the) (?:principal|requester)\b|"
    r"the human\b(?! body)|"
    r"(?:person|people|someone) i'?m (?:assisting|helping)|"
    r"the user i'?m (?:assisting|helping)|tell (?:the system|operatoros)\b)|^\s*(?:user|human)\s*(?:>|:)|"
    r"^\s*(?:instruction|request|task|query|prompt)\s*:|"
    r"^\s*user (?:wants|would like|needs|asks|asked|is asking|requests|requested)\b|"
    r"^\s*(?:user|human|operator|developer)\s*\([^)]{0,40}\)\s*(?:>|:)", re.I)
"""Words only an agent relaying a user's request writes."""

_QUOTE_RE = re.compile(r"(?<![A-Za-z])'((?:[^']|(?<=[A-Za-z])'(?=[A-Za-z])){3,}?)'(?![A-Za-z])|"
                       r"\"([^\"]{3,}?)\"|\u201c([^\u201d]{3,}?)\u201d")

_SAYS_RE = re.compile(r"(?:^|:|asked|asks|says|said|wrote|request|message|words were|quoted\)?|verbatim\)?|"
                      r"follows?[.:]?)\s*$",
                      re.I)
"""What comes just before a quote of the user's own words."""

_PREAMBLE_RES = tuple(re.compile(p, re.I) for p in (
    r"^\[agent\]\s*",
    r"^(?:hi|hello|hey)\b[^.!]*?(?:[.!]\s*|$)",
    r"^(?:i'?m|i am|this is)\s+(?:copilot|claude(?: code)?|codex|cursor|gemini|chatgpt|devin|aider)\b"
    r"[^.:]*(?:[.:]\s*|$)",
    r"^(?:claude(?: code)?|copilot|codex|cursor|gemini|devin|aider) (?:here|relaying)\b[^.:]*?(?:[.:]\s*|$)",
    r"^(?:i'?m|i am|this is) (?:an? |the )?(?:[a-z]+ )?(?:ai |automated |coding )*(?:agent|assistant)\b[^.:]*"
    r"(?:[.:]\s*|$)",
    r"^context:.*?\brequest:\s*",
    r"^(?:please )?(?:execute|carry out|perform|handle)\b[^:]*:\s*",
    r"^(?:the )?user(?:'s)? (?:request|says|said|wrote|instruction|input|message|question|exact words were|"
    r"approval received)\b[^:]*:\s*",
    r"^request from (?:the )?user\b[^:]*:\s*",
    r"^(?:requesting |acting )?(?:on behalf of|for) (?:the|a|my) user\b[^,:]*[,:]\s*",
    r"^acting for the user,?\s*",
    r"^per (?:the )?user(?:'s)?(?: instructions)?[,:]\s*",
    r"^as requested by the user,?\s*",
    r"^(?:i'?m )?relaying(?: a user request| for the user)?[,:]\s*",
    r"^(?:i'?ll|i will|let me) (?:relay|forward|pass (?:this |that |it )?(?:along|on))(?: (?:this|that|it))?"
    r"(?: (?:for|from) (?:the|my) user)?[,:]\s*",
    r"^(?:please )?(?:relay|pass|send|forward)(?: this)? to operatoros[,:]\s*",
    r"^forwarding (?:a user message|for the user)[,:]?\s*",
    r"^passing along a user request[,:]\s*",
    r"^operator note:\s*(?:user requested\s*)?",
    r"^task for operatoros from my user:\s*",
    r"^summary of the user'?s ask:\s*",
    r"^instruction (?:received )?from (?:the )?(?:end )?user\s*(?:->|:)\s*",
    r"^route to (?:the )?(\w+) (?:agents|pool) on the user'?s behalf:\s*",
    r"^(?:the |my )?user (?:asks|asked|says|said|wrote)[:,]\s*",
    r"^(?:user|human)\s*>\s*",
    r"^(?:user|human|operator|developer)\s*\([^)]{0,40}\)\s*(?:>|:)\s*",
    r"^(?:please )?(?:tell|instruct) (?:the system|operatoros)(?: to| that)?[,:]?\s*",
    r"^(?:instruction|request|task|query|prompt)\s*:\s*",
    # any other label that names the user, up to its colon ("Acting as the user's assistant: ...");
    # not a routing one ("ask the finance agents on the user's behalf: ...")
    r"^(?![^:]*\b(?:agents?|pools?|route|ask|send|submit)\b)[^:\"\u201c]{0,80}?\b(?:user|human|client|customer|person|"
    r"principal|requester)"
    r"\b[^:\"\u201c]{0,40}?:\s*",
))
"""Framing at the start of an agent's message."""

_REFRAME_RES = tuple((re.compile(p, re.I), r) for p, r in (
    (r"^(?:(?:the |my )?user|they) (?:is|are) asking (?:whether|if) (?:they|to) should\b", "should I"),
    (r"^(?:(?:the |my )?user|they) (?:asked|asks|is asking|has asked) (?:me )?(?:whether|if) they should\b",
     "should I"),
    (r"^(?:(?:the |my )?user|they) (?:is|are) asking (?:what would happen if|what happens if) they\b", "what if I"),
    (r"^(?:(?:the |my )?user|they) (?:asked|asks|is asking|has asked|wants to know|would like to know|'d like to know|"
     r"is wondering|wonders|is curious)(?: me)?(?: to (?:find out|check))? (?:whether|if)\b", "tell me whether"),
    (r"^(?:(?:the |my )?user|they) (?:has asked|asked|asks|is asking|wants|would like|needs|'d like)(?: me)? to "
     r"(?:see|know|view|find out)\b(?!\s*:)", "show"),
    (r"^(?:(?:the |my )?user|they) (?:has asked|asked|asks|is asking|wants|would like|needs|'d like)(?: me)? to "
     r"(?:see|know|view|find out)\s*:\s*", ""),
    (r"^(?:(?:the |my )?user|they) (?:has asked|asked|asks|is asking|wants|would like|needs|'d like)(?: me)? to\b", ""),
    (r"^(?:(?:the |my )?user|they) (?:is asking|asks|asked|has asked) for help with\b", "help with"),
    (r"^(?:(?:the |my )?user|they) (?:has a question for|asks) (?:the )?(\w+) agents:", r"ask the \1 agents:"),
    (r"^(?:(?:the |my )?user|they)(?: is| are)? (?:has asked|asked|asks|is asking|asking|requests|requested|"
     r"has requested)"
     r"(?: me)?(?: for)?\b", "show me"),
    (r"^(?:(?:the |my )?user|they)(?:'d| would) like\b", "I would like"),
    (r"^(?:(?:the |my )?user|they|the developer|the operator) (?:wants?)\b", "I want"),
    (r"^(?:the developer|the operator|the person|my human|they) (?:needs?)\b", "I need"),
    (r"^(?:(?:the|my) (?:human|principal|requester)) (?:wants?)\b", "I want"),
    (r"^(?:(?:the |my )?user|they) (?:needs?)\b", "I need"),
    (r"^(?:I want|I would like|I need) an? (?:analysis|review) of\b", "analyze"),
    (r"^(?:the user|my user) says\b", ""),
    (r"^(?:(?:the |my )?user|they) (?:picks?|picked|chose|chooses|selects?|selected|went with|goes with|answers?|"
     r"answered|replied|replies)(?: with)?\b", ""),
    (r"^(?:the user|my user) has rejected\b", "reject"),
    (r"^(?:i'?m|i am) (?:an? )?(?:agent|assistant) assisting a user who wants to\b", ""),
))
"""Third-person requests made first-person ("The user wants to restart X" is "restart X")."""

_NOOP_RE = re.compile(
    r"^(?:please )?(?:(?:perform|execute|do(?!\s+not\b)|run|handle|comply|proceed|carry out|respond|provide|"
    r"record|answer|"
    r"route|forward|hand|submit|pass|send)\b(?![^:]*:\s*\S).*|(?:it|this) (?:accordingly|for them)|proceed)$", re.I)
"""An agent's closing instruction that adds nothing to the request."""

READ_ONLY_RE = re.compile(
    r"\b(?:don'?t|do not|no)\s+(?:change|changes|cancel|scale|restart|touch|modify)\w*|not asking for any changes|"
    r"just want information|no changes|read[- ]only|only (?:want to )?(?:show|see|look)|"
    r"(?:they|the user|he|she) (?:is|are|was|were) (?:only |just )?asking(?:,? not (?:instructing|ordering|requesting)|"
    r" a question)|not an? (?:instruction|order|request to act)|"
    r"\bnot (?:asking|wanting|trying|looking)(?: you| me)? (?:to|for) (?:\w+ )?(?:change|cancel|scal|restart|touch|"
    r"modify|delet|run|approv|reject|kill|stop)\w*|treat (?:it|this) as a question|with a question mark|"
    r"(?:it'?s|it is|this is|that'?s|that is) (?:just |only )?a question|just a question", re.I)
"""An agent's instruction that forbids any change."""

_INTERJECTION_RE = re.compile(r"(?:no|nope|stop|wait|ok|okay|hey|please|hold on|hmm)", re.I)
"""A sentence that only interjects before another ("no! do not cancel task 31"): the request is in the next one."""

_LOOK_RE = re.compile(r"\b(?:show|list|check|display|run a health check|give)\b.*", re.I)


LABEL_RE = re.compile(
    r"^\s*((?:(?:read[- ]only|no changes?|nothing to change|just (?:looking|checking|asking)|fyi|note|heads up|"
    r"quick (?:question|one|request|check|ask)|question|status check|ops|please|pls|hey|hi|ok|so|"
    r"dry[- ]?run|simulat\w*|preview|test run|what[- ]if|hypothetical(?:ly)?|proposal|suggestion|idea|draft|"
    r"todo|to do|note to self|notes?|reminder|later|plan(?: for \w+)?|thinking out loud|not an order|brainstorm|"
    r"for (?:later|tomorrow|next week)|options?|disregard(?: this| that)?|ignore(?: this| that)?|"
    r"@\w+|operatoros)[\s,!.-]*)+):\s*(?=\S)", re.I)
"""A label before a colon that frames the request after it ("read-only please: show the failed tasks")."""
_LABEL_READ_ONLY_RE = re.compile(r"read[- ]only|no changes?|nothing to change|just (?:looking|checking|asking)|"
                                 r"dry[- ]?run|simulat|preview|test run|what[- ]if|hypothetical|proposal|suggestion|"
                                 r"idea|draft|todo|to do|note|reminder|later|plan|thinking out loud|not an order|"
                                 r"brainstorm|options?|disregard|ignore", re.I)


_SENTENCE_END_RE = re.compile(r"(?<=[.!?;])\s+|\s+[-\u2013\u2014]+\s+|\s*\(|\)\s*")


def reduce(text: str) -> tuple[str, bool]:
    """(the request, whether the framing forbade any change)."""
    label = LABEL_RE.match(text)
    if label:  # the label only frames: the request is what follows it, read-only if it says so
        request, read_only = reduce(text[label.end():])
        return request, read_only or bool(_LABEL_READ_ONLY_RE.search(label.group(1)))
    if not AGENT_RE.search(text):
        return text, False
    quoted = next((next(g for g in m.groups() if g) for m in _QUOTE_RE.finditer(text)
                   if len(next(g for g in m.groups() if g).split()) >= 2
                   and _SAYS_RE.search(text[:m.start()])), None)
    outside = _QUOTE_RE.sub(" ", text) if quoted else text
    read_only = bool(READ_ONLY_RE.search(outside))
    # a sentence that only forbids a change ("they are asking, not instructing") is no look, however reframed
    pairs = [(s, raw) for raw in _SENTENCE_END_RE.split(outside) if raw for s in [_strip(raw)] if s]
    sentences = [s for s, _ in pairs]
    looks = [m.group(0) for s, raw in pairs if read_only or quoted
             for m in [_LOOK_RE.search(s)] if m and not _NOOP_RE.match(s)
             and len(READ_ONLY_RE.sub(" ", m.group(0)).split()) > 2 and READ_ONLY_RE.sub(" ", raw).strip(" ,.;:")]
    rest = [s for i, s in enumerate(sentences) if not _NOOP_RE.match(s) and not READ_ONLY_RE.search(s)
            and not (i < len(sentences) - 1 and _INTERJECTION_RE.fullmatch(s.strip(" !?.")))]  # a last "no." takes back
    refers = re.search(r"\b(?:it|its|them|their|that one|the (?:pool|task|job|run|workflow))\b",
                       " ".join(looks[-1:] or rest), re.I)
    if looks and (read_only or _is_question(quoted or "")) and not refers:
        request = looks[-1]
    elif quoted:
        request = _strip(quoted)
    elif refers and read_only:  # "do not scale the finance pool. show me its size": 'its' is the pool refused
        request = ". ".join(s for s in sentences if not _NOOP_RE.match(s))
    else:
        # every sentence reads like an agent's closing ("On behalf of the user: run it"): it is the request itself
        request = (_joined(rest) or " ".join(s for s in sentences if not _NOOP_RE.match(s)) or " ".join(sentences)
                   or text)
        if not rest and read_only and not quoted and _only_the_users_refusal(pairs):
            read_only = False  # "On behalf of the user: don't cancel task 4, cancel task 5 instead": the rule reads it
    label = LABEL_RE.match(request)  # a label inside the user's quoted words: 'read-only please: show ...'
    if label:
        read_only = read_only or bool(_LABEL_READ_ONLY_RE.search(label.group(1)))
        request = request[label.end():]
    return _cancelled(request.strip(" .")), read_only


def _joined(sentences: list[str]) -> str:
    """The sentences of the request, kept apart when a later one takes back or refuses ("scale sports to 8. actually
    no, leave it"): run together, the refusal would read as part of the order."""
    from commands.mood import mood_of, retracts

    if any(mood_of(s) == "negation" or retracts(s) for s in sentences[1:]):
        return ". ".join(sentences)
    return " ".join(sentences)


def _only_the_users_refusal(pairs: list[tuple[str, str]]) -> bool:
    """Whether the only words that refuse a change are the user's request itself, one sentence after a label
    ("On behalf of the user: don't cancel task 4, cancel task 5 instead"): the rule above the matchers reads its
    negation clause by clause, so an order beside it still stands; an agent's own "no changes" is no such sentence."""
    kept = [(s, raw) for s, raw in pairs if not _NOOP_RE.match(s)]
    return len(kept) == 1 and kept[0][0] != _strip_label(kept[0][1]) and bool(
        re.match(r"^(?:please\s+)?(?:don'?t|do not|never|no need to|not)\b", kept[0][0], re.I))


def _strip_label(raw: str) -> str:
    return raw.strip(" .:;,\"'")


def _strip(sentence: str) -> str:
    sentence = sentence.strip(" .:;,\"'")
    previous = None
    while previous != sentence:
        previous = sentence
        for pattern in _PREAMBLE_RES:
            match = pattern.match(sentence)
            if match:
                route = match.groups()[0] if match.groups() else None
                sentence = (f"ask the {route} agents: " if route else "") + sentence[match.end():].strip()
        for pattern, replacement in _REFRAME_RES:
            sentence = pattern.sub(replacement, sentence, count=1).strip()
        sentence = re.sub(r"\b(?:for them|for the user|on the user'?s behalf)\b", "", sentence, flags=re.I)
        sentence = re.sub(r"\blog (?:them|him|her) (out|in|off)\b", r"log me \1", sentence, flags=re.I)
        sentence = re.sub(r"\btheir\b", "my", re.sub(r"\bthey(?:'re| are)\b", "I am", sentence, flags=re.I),
                          flags=re.I).strip(" .:;,\"'")
    return sentence


def _is_question(text: str) -> bool:
    return text.rstrip().endswith("?")


def _cancelled(request: str) -> str:
    """'show me all queued tasks cancelled' is 'cancel all queued tasks'."""
    said = request
    request = re.sub(r"\s+(?:now|right away|right now|immediately|asap|please)$", "", request, flags=re.I)
    request = re.sub(r"^(?:show me|i want|i would like|i'?d like|i need)?\s*that (.+?) (?:be|is|gets?) "
                     r"(cancelled|canceled|restarted)$", r"\1 \2", request, flags=re.I)  # "that task 57 be cancelled"
    match = re.match(r"^(?:show me |i want |i would like |i'?d like |i need )?(.+?) (cancelled|canceled|restarted)$",
                     request, re.I)
    if match and not re.search(r"\b(?:be|been|being|not|never|no|should|must|if|whether|would|could|can|shall|might|"
                               r"may|ought)\b|n'?t\b", match.group(1), re.I):  # "task 12 must not be cancelled"
        verb = "cancel" if match.group(2).lower().startswith("cancel") else "restart"
        return f"{verb} {match.group(1)}"
    return said  # "... now" stays in a request that is no such order
