"""The words and patterns commands are read with: pool synonyms, command words, typo tables, regexes.

Part of command_processor (POOL_SYNONYMS is importable from there). Word lists and compiled
patterns only; the code that reads them is in commands.segment (cleaning, tokens, typos, domain
scores), commands.request (splitting) and commands.matcher (the matchers of each intent). The
domain words that point a request at a pool are domains.routing's, shared with the controller.
"""
from __future__ import annotations

import re

from domains.routing import DOMAIN_WORDS

POOL_SYNONYMS: dict[str, tuple[str, ...]] = {
    "healthcare": ("healthcare", "health care", "health agents", "health agent", "health pool",
                   "health team", "medical", "clinical", "med", "hc"),
    "financial": ("financial", "finance", "fin", "stock", "stocks", "trading"),
    "sports": ("sports", "sport", "betting", "bets", "sportsbook"),
    "business": ("business", "automation", "biz", "ops", "operations", "enterprise"),
    "general": ("general", "default", "misc", "generic", "catch all"),
}
"""Words that name each pool in a command ("scale the medical pool", "show the stock agents")."""

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "dozen": 12,
}
"""Number words read as digits ("scale healthcare to ten")."""

STATUS_WORDS = {
    "failed": "failed", "failing": "failed", "failures": "failed", "failure": "failed", "errored": "failed",
    "error": "failed", "errors": "failed", "broken": "failed", "broke": "failed", "crashed": "failed",
    "queued": "queued", "pending": "queued", "waiting": "queued", "backlog": "queued",
    "running": "running", "active": "running", "progress": "running",
    "succeeded": "succeeded", "successful": "succeeded", "completed": "succeeded", "complete": "succeeded",
    "done": "succeeded", "finished": "succeeded", "success": "succeeded",
    "cancelled": "cancelled", "canceled": "cancelled",
}
"""Words for task statuses ("show completed jobs" is status succeeded)."""

POOL_NOUNS = frozenset({"pool", "pools", "agent", "agents", "worker", "workers"})
POOL_NOUN_AFTER_NAME = frozenset({"pool", "pools", "agent", "agents", "worker", "workers", "team",
                                  "one", "ones", "side", "capacity"})
PRONOUNS = frozenset({"it", "its", "them", "their", "that", "this", "those", "these"})
DISPLAY = frozenset({"show", "list", "display", "view", "see", "check", "get", "give", "how", "hows",
                     "what", "whats", "status", "performance", "performing", "doing", "busy", "stats",
                     "metrics", "load", "size", "sizes"})


def word_set(text: str) -> frozenset[str]:
    """The words of a text as a set: the word lists here, and small ones inline in command_matcher."""
    return frozenset(text.split())


UP_WORDS = word_set("up increase add more grow expand bigger larger boost bump spin another raise extra "
                    "additional grown grew increased expanded boosted bumped raised")
DOWN_WORDS = word_set("down decrease reduce remove fewer less shrink smaller cut kill drop lower trim "
                      "shrunk shrank decreased reduced lowered trimmed")
CHANGE_WORDS = (UP_WORDS | DOWN_WORDS | {"double", "halve", "triple", "capacity"}) - {"up", "down"}

REQUEST_OPENERS = word_set("""
    write draft compose summarize summarise translate explain tell describe define recommend suggest
    generate create make plan find calculate compute compare analyze analyse research estimate forecast
    predict give brainstorm outline rewrite proofread edit review convert solve teach design build
    prepare evaluate assess check help what whats who whos why how hows when where which is are can could
    should would will does i im ive my list show name fix debug send ask""")
"""First words of a request for work (a general submit needs one of these when no domain matches)."""

WORK_VERBS = word_set("""
    write draft compose summarize summarise translate explain describe define recommend suggest generate
    create plan calculate compute compare analyze analyse research estimate forecast predict brainstorm
    outline rewrite proofread edit review convert solve teach design build prepare evaluate assess fix debug
    answer read classify extract""")
"""Verbs that make 'VERB this: <text>' a domain request whatever the text says."""

_POOL_NAME_WORDS = frozenset(w for words in POOL_SYNONYMS.values() for s in words for w in s.split())

HELP_TOPIC_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("scaling", word_set("scale scaling resize resizing capacity")),
    ("workflows", word_set("workflow workflows automation approve approval approvals approving reject rejecting")),
    ("demos", word_set("demo demos demonstration")),
    ("tasks", word_set("task tasks submit submitting queue jobs job cancel cancelling canceling")),
    ("health", word_set("health cpu memory disk monitoring")),
    ("status", word_set("status overview dashboard")),
    ("history", word_set("history")),
    ("account", word_set("login logout register account accounts user users sign")),
    ("pools", word_set("pool pools agent agents restart restarting workers")),
)
"""Help topics in order of precedence ("how do I scale a pool" is about scaling)."""

_COMMAND_WORDS = word_set("""
    status system overview dashboard summary health healthy healthcheck diagnostics memory database
    providers provider healthcare medical financial finance sports betting business automation general
    default pool pools agent agents workers scale scaling resize increase decrease reduce remove shrink
    expand restart reboot relaunch revive cancel abort terminate task tasks jobs queue queued pending
    running failed completed finished succeeded cancelled backlog workflow workflows approve reject demo
    demos demonstration history previous help commands login logout register username show list display
    check please analyze submit capacity stock stocks""")
"""Words that typos are corrected to."""

COMMON_WORDS = word_set("""
    a about above after again all also always am an and another any anything are as ask at away back bad
    be been before being best better between both but by call can cant care come could day days did didnt
    do does doesnt doing done dont down each even ever every everything few find first for from get go
    going good got great had has have having he help her here him his how hows i if im in into is isnt it
    its ive just keep know last least less let like look looking lot made make many may me might mine
    more most much must my need never new next no not nothing now of off ok okay old on once one only or
    other our out over own part people please put quick quite really right said same say see seen set she
    should show since so some something soon still such sure take tell than thanks that thats the their
    them then there these they thing things think this those though through time to today tomorrow
    tonight too under up us use used using very want was way we well were what whats when where which
    while who whos why will with without work working works would yes yet you your yours result results
    output answer update updates progress ready happened happen started start stop state report current
    overall whole server machine service services info details detail recent latest number step steps run
    runs ratio tips team email plan ones thing hello hey thank within across beyond available everyone
    someone says user name named called wise left space load uptime week weekend month months year years""")
"""Common words that are never 'corrected' into command words."""

_LOOKALIKE_WORDS = word_set("""
    stats stat states statue stratus genera demon demons polo scaring expend commends shrine heath spot
    spots sorts filed fiance reside remote summit agency revise""")
"""Real words one typo away from a command word ("statue" is not "status")."""

KNOWN_WORDS = (_COMMAND_WORDS | COMMON_WORDS | _LOOKALIKE_WORDS | _POOL_NAME_WORDS
               | frozenset(NUMBER_WORDS) | frozenset(STATUS_WORDS) | REQUEST_OPENERS | UP_WORDS
               | DOWN_WORDS | frozenset(w for d in DOMAIN_WORDS.values() for w in d))
"""Words left as they are by typo correction."""

COMMANDS_BY_LETTER: dict[str, tuple[str, ...]] = {}
for _word in sorted(_COMMAND_WORDS):
    COMMANDS_BY_LETTER[_word[0]] = COMMANDS_BY_LETTER.get(_word[0], ()) + (_word,)

CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u2060\ufeff]")
TOKEN_RE = re.compile(r"[^\W_]+")
LEADING_FILLER_RE = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|please|pls|plz|kindly|just|so|um+|uh+|yo|alright|well|now|oh|and|also|then|"
    r"never\s*mind|thanks|actually|quick(?:ly)?)\b|(?:could|can|would|will)\s+(?:you|u|ya)(?:\s+please)?\b|"
    r"i\s+(?:want|wanna|need|would\s+like|'d\s+like|d\s+like)\s+you\s+to\b|go\s+ahead\s+and\b|"
    r"(?:i'?d|i\s+would)\s+(?:appreciate\s+it|be\s+grateful)\s+if\s+you\s+(?:could|would|can)\b|"
    r"(?:would|do)\s+you\s+mind\b|be\s+so\s+kind\s+as\s+to\b|"
    r"(?:i\s+(?:want|wanna|need|would\s+like|'d\s+like|d\s+like)\s+to|let\s+me|let'?s)\b)[\s,.!:;-]*", re.I)
TRAILING_FILLER_RE = re.compile(
    r"[\s,]*\b(?:please|pls|plz|thanks|thank\s+you|thx|ty|for\s+me)\b[\s.!?]*$", re.I)
SEPARATOR_RE = re.compile(
    r"\s*(?:;+|&&|\s&\s|\b(?:and\s+then|and\s+also|and\s+after\s+that|after\s+that|then|also|plus|and)\b"
    r"|(?<=[.?!])(?=\s))\s*", re.I)
QUOTED_RE = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d")
ELLIPSIS_MARKERS = word_set("and also then same too about now")
"""First words that mark a follow-up ("and the financial ones?")."""

ELLIPSIS_WORDS = word_set("""
    and also then now what whats about how hows same for the a an one ones in on with to by do too as
    well only just of more fewer less extra pool pools agent agents team it make them those these thing
    please ok okay side again either task tasks job jobs number id but that this instead here there""")
"""Words a follow-up may have besides a pool, a number or a task status."""

VIEW_WORDS = word_set("show list me display view get see check us")
"""Words a follow-up to a view may add ("now show failed ones")."""

GREETINGS = word_set("hi hello hey yo hiya howdy morning good")
"""A request of greetings only is answered with help."""

STATUS_WORD_SET = frozenset(STATUS_WORDS)
SYSTEM_WORDS = word_set("""
    system server servers machine operatoros cpu memory ram disk database db provider providers openai redis
    postgres sqlite uptime diagnostics diagnostic healthcheck check checks status report resources resource
    service services api backend app pools everything monitoring latency""")
"""Words that make 'health' about the machine rather than a person."""

HEALTH_WORDS = word_set("""
    health healthy healthcheck cpu memory ram disk database db provider providers openai diagnostics
    diagnostic uptime resources latency unhealthy postgres sqlite redis""")
STATUS_NOUNS = word_set("status overview dashboard sitrep state stats")
TASK_NOUNS = word_set("tasks task jobs job queue backlog")
HISTORY_OWNERS = word_set("my conversation chat session command commands request requests our show")
HELP_FILLER = word_set("me with on about for please the a using i need some out pls")
RUN_VERBS = word_set("run start execute launch trigger kick rerun")
RUN_SHOWN = word_set("show status check details what whats view get how hows approval approvals step steps waiting "
                     "pending stuck progress")
DECISION_WORDS = word_set("approve approved approving accept reject rejected rejecting deny decline")
APPROVE_WORDS = word_set("approve approved approving accept")
APPROVALS_SHOWN = word_set("queue pending list show waiting any what whats which")
DEMO_WORDS = word_set("demo demos demonstration showcase walkthrough")
CANCEL_VERBS = word_set("cancel abort stop kill terminate halt")
RESTART_VERBS = word_set("restart reboot revive relaunch respawn resurrect recover reset reload restarting bounce")
SCALE_VERBS = word_set("scale resize rescale autoscale scaling")

USER_NAME_RE = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
WHOAMI_RE = re.compile(r" (who ?am ?i|whoami|(which|what) user|my user ?name|my (login|account)( name)? $|"
                       r"my login name|am i logged in|current user|"
                       r"who (is|s) logged in|whos logged in) ")
LOGOUT_RE = re.compile(
    r" (log ?out|sign ?out|sign off|log me out|sign me out|log off)( now| of operatoros)? $")
LOGIN_RE = re.compile(
    r"^(?:(?P<reg>register|sign\s*(?:me\s+)?up|signup|create\s+(?:an?\s+)?(?:new\s+)?(?:account|user))|"
    r"log\s*me\s*in|log\s*in|login|sign\s*me\s*in|sign\s*in|signin|switch\s+(?:to\s+)?(?:user|account)s?|"
    r"switch\s+to)\b(?:\s+(?:as|for|to|user|with|named|called|me\s+as|me)\b)*"
    r"(?:\s+(?P<name>[A-Za-z0-9_.@-]{1,64}))?", re.I)
HELP_RE = re.compile(
    r"^ (what|which) (can|could|do) (you|u|ya|i) (do|ask|say|type)( you)? |^ what can i ask |"
    r"^ (list |show |available |show me the )?commands |^ what commands | commands are available |"
    r"^ (?:list|show|give|tell)(?: me| us)?(?: the| all| your| all the| a list of| the list of)? (?:available )?"
    r"commands (?!i (?:ran|typed|sent|used|entered|gave|tried)|(?:i )?(?:ran|typed|sent) )|"
    r"^ (im|i am) (lost|confused|stuck) $|^ how (do|can|should) i use |^ how does this work |^ how to use |"
    r"^ show me how to use |^ (usage|menu|options|getting started|get started) $|^ what (do|can) you "
    r"(do|offer) |^ what are you |^ explain (how )?(this|operatoros|the system|it) |^ explain how (the )?"
    r"(agents|pools|workflows|demos|tasks|scaling|operatoros)( in this system)? work|"
    r"^ what (can|does) (this|it|operatoros|the system)( thing| tool| app)? do |"
    r"^ what are (your|operatoros|its|the system s) (capabilities|features|abilities|functions|skills|commands) |"
    r"^ (list|show|tell me)( me)? (your|operatoros) (capabilities|features|abilities|functions|skills) |"
    r"^ (show|tell)( me| us)? what (you|operatoros|it|the system) (can|could) do ")
HOW_DO_I_RE = re.compile(r" how (?:(?:do|can|should|would) (?:i|we) |to )| how (?:does|do) .* works? $")
HISTORY_RE = re.compile(
    r" what did i (ask|say|type|do|request|send)| what have i (asked|said|done|typed|requested|sent)|"
    r" (previous|past|earlier|recent|last|old) (commands|requests|messages|questions|conversation)|"
    r" conversation (log|history)| what did we (talk|discuss)")
AUTOMATE_RE = re.compile(r" automat(e|ed|es|ing) | automation (for|of|to|that) ")
CREATE_WORKFLOW_RE = re.compile(r" (create|build|make|set up|setup|design|define|add|new|draft) .*workflow|"
                                r" (write|sketch|put together|map out) (me |us )?(a|an|the) (\w+ )?workflow "
                                r"(for|to|that) ")
RUN_NAMED_RE = re.compile(
    r" (?:run|start|execute|launch|trigger|kick off) (?:the |my |our )?(.+?) workflow ")
WHAT_CAN_THEY_DO_RE = re.compile(r" what (?:can )?(?:the )?\w+ (?:agents?|pool|team) (?:can )?do ")
CANCEL_NUMBER_RE = re.compile(r" (?:cancel|abort|stop|kill|terminate|halt) (\d{1,9}) ")
BRING_BACK_RE = re.compile(r" bring (\w+ ){0,4}back | start (\w+ ){0,3}again ")
MORE_RE = re.compile(r" (more|fewer|another|less) ")
SET_SIZE_RE = re.compile(r" (set|want|need|make|give) .*(\d+|size(?!s))")
TURN_UP_RE = re.compile(r" (bump|turn|spin|ramp|take|bring|dial|knock) (\w+ ){0,4}(up|down) |"
                        r"^ (?:(?:ok|okay|now|then|and|actually|no|please) )*(?:go|put it|set it|take it|bring it|"
                        r"drop it|move it)? ?back (?:down |up )?to \d+ (?:agents? )?$|"
                        r" (get|bring|take|put|push|move|grow|shrink) (\w+ ){1,4}?(up |down )?to \d+ (agents? )?$")
"""'bump finance up', 'get the finance pool to 6 agents': a change of size."""
MAKE_IT_RE = re.compile(r" make (it|them|that) \d+ ")
SIZE_TO_RE = re.compile(r" (?:to|size of|size|at|make (?:it|them|that)|be) (\d{1,9}) ")
ADD_TO_RE = re.compile(r" (?:add|give|assign) (?:\w+ ){0,3}to \d+ ")
WANT_N_RE = re.compile(r" (?:want|need|have|give [a-z ]+?|set [a-z ]+?) (\d{1,9}) (?:agents?|workers?) ")
DELTA_RES = (
    re.compile(r" by (\d{1,9}) "),
    re.compile(r" (\d{1,9}) (?:more|extra|additional|fewer|less) "),
    re.compile(r" (?:add|remove|kill|drop|cut|spin up|give [a-z ]+?|up|down) (\d{1,9}) "),
    re.compile(r" (\d{1,9}) (?:\w+ )?(?:agents?|workers?) "),
)
"""Where the number of a delta is ("by 2", "2 more", "add 2", "2 agents"), in order."""

FOLLOWUP_RE = re.compile(
    r" what happened| (is|was|has) (it|that|my task|the task) (done|finished|ready|complete|completed|over|"
    r"still running|working)| did (it|that) (finish|fail|work|succeed|complete|run)|"
    r" (the |my )?(result|results|output|answer) | my (last )?task (?!lists? )| (the|that|this) task (?!lists? )|"
    r" (how is|hows) it going | any (news|update|updates) | status of (it|that) ")
RUNNING_RE = re.compile(
    r" working on | whats running | what is running | running (right )?now | in progress | is running ")
RUNNING_NOW_RE = re.compile(r" (whats|what is|is) running | running (right )?now ")
LIMIT_RE = re.compile(r" (?:last|latest|recent|top|first|newest) (\d{1,9}) |"
                      r" (\d{1,9}) (?:most recent|latest|recent|last) ")
MACHINE_RE = re.compile(r" (load|resource usage) (on|of) (the )?(machine|server|system) |"
                        r" (problems?|issues?|trouble|anything wrong|something wrong) (with|on) (the )?(server|machine|"
                        r"box|host|hardware) |"
                        r" (server|machine) (ok|up|doing|alive) | system (check|checkup) ")
STATUS_RE = re.compile(
    r" whats? (is )?going on | how are things | how (is|s) everything | hows everything |"
    r" everything (ok|okay|alright|fine|good|running smoothly|running fine|running ok|working|working fine|"
    r"up and running) | (is|are) (everything|things|the system|operatoros|all systems) (running|working|up|green|go) "
    r"(smoothly |fine |ok |okay |well )?$| where are we | how(s| is| are) (it all|things|stuff) "
    r"(going|looking|running) | big picture | summary of (the )?(whole )?(system|operatoros|everything) |"
    r" (system|operatoros) (summary|report) | (overall|whole) picture |"
    r" how(s| is) (the )?(system|operatoros|everything|it all) (doing|holding up|looking|going|coping) ")
TASK_STATUS_QUESTION_RE = re.compile(
    r"^ (?:(?:show|tell|list|give)(?: me| us)? |let me see |see )?"
    r"(?:whats|what is|what has|what have|which ones|anything|what) (?:is |are |has |have )?(?:been )?(?:still )?"
    r"(finished|done|completed|complete|waiting|pending|queued|running|failed|broken|stuck|in progress)"
    r"(?: so far| yet| now| right now| already| today| at the moment)? $")
"""'what's finished so far?', 'show me what's still waiting': the tasks of that status."""
TASK_ID_RE = re.compile(r" (?:task|job|tasks|jobs|ticket) (?:number |no |id |num )?(\d{1,9}) ")
ID_RE = re.compile(r" (?:id|number|no|num) (\d{1,9}) ")
HASH_ID_RE = re.compile(r"#\s?(\d{1,9})\b")
POSSESSIVE_RE = re.compile(r"(\d)'s\b")
THOUSANDS_RE = re.compile(r"(\d),(\d{3})\b")
NOT_A_COUNT_RE = re.compile(r"(?<![\w-])-\s?\d+(?:\.\d+)?|\d+\.\d+")

_POOL_ALT = "|".join(sorted((re.escape(s).replace(r"\ ", r"\s+") for ws in POOL_SYNONYMS.values()
                             for s in ws), key=len, reverse=True))
"""Any pool synonym, longest first, for the routing patterns below."""

QUOTED_TO_RE = re.compile(
    r"^(?:submit|send|ask|give)\s+[\"\u201c](?P<rest>.+?)[\"\u201d]\s+to\s+(?:the\s+)?"
    rf"(?P<pool>{_POOL_ALT})\b(?:\s+(?:pool|agents?|team|workers?))?\s*[.!]?$", re.I | re.S)
ROUTE_RE = re.compile(
    r"^(?:submit|send|forward|route|pass|hand|give)\b(?:\s+(?:this|it|that|the\s+following|"
    r"(?:a|an|this|the)\s+(?:new\s+)?(?:task|job|request|question)|task|job|request))?\s+to\s+(?:the\s+)?"
    rf"(?P<pool>{_POOL_ALT})\b(?:\s+(?:pool|agents?|team|workers?))?\s*[:,\-\u2013]?\s*(?P<rest>.*)$",
    re.I | re.S)
ASK_RE = re.compile(
    rf"^ask\s+(?:the\s+)?(?P<pool>{_POOL_ALT})\s+(?:pool|agents?|team|workers?|experts?)\b"
    r"\s*[:,\-\u2013]?\s*(?P<rest>.*)$", re.I | re.S)
SUBMIT_RE = re.compile(
    r"^submit\b\s*(?:(?:a|an|this|the|new|my)\s+)*"
    rf"(?:(?P<pool>{_POOL_ALT})\s+)?(?:task|job|request|query|question)?\b"
    rf"(?:\s+to\s+(?:the\s+)?(?P<pool2>{_POOL_ALT})\b(?:\s+(?:pool|agents?|team))?)?"
    r"\s*[:,\-\u2013]?\s*(?:to\s+)?(?P<rest>.*)$", re.I | re.S)

# --- issue 17: more ways people and agents ask (kept apart for the vocabulary merge) ---------------

HELP_MORE_RE = re.compile(
    r" what can (?:this|the|your) (?:platform|service|tool|system|app|thing) do | (?:the |a )?list of (?:the )?"
    r"(?:commands|things i can (?:say|ask)) | what (?:commands|requests) (?:can|do) i ")
"""More ways to ask what can be asked ("what can this platform do?", "show me the list of commands")."""
HISTORY_MORE_RE = re.compile(
    r" what (?:have|did) we (?:talked|talk|discussed|discuss|covered|cover|done|do)(?: about)?(?: so far)? |"
    r" (?:recap|summary|history|log) of (?:this|our|the|my) (?:conversation|session|chat) ")
"""'what have we talked about so far?' is this conversation's history."""
WHOAMI_MORE_RE = re.compile(r" am i (?:an? )?(?:admin|administrator|superuser|root) | (?:my|which) role |"
                            r" who (?:i am|im|am i|i m) (?:logged|signed) in | (?:logged|signed) in as $")
"""'am I an admin?' asks who the session acts as."""
NEW_SESSION_RE = re.compile(
    r"^ (?:start |open |begin |create )?(?:over )?(?:with )?(?:a )?(?:new|fresh|clean) (?:session|conversation|chat|"
    r"slate)(?: please)? $|"
    r"^ (?:start over|reset (?:the |this |my )?(?:session|conversation|chat)|clear (?:the |this |my )?"
    r"(?:session|conversation|context)) $")
"""A fresh conversation: 'new session', 'start a new conversation', 'start over'."""
DEMO_MORE_RE = re.compile(
    r" (?:(?:walk|take|talk|guide|run) (?:me|us) through|demonstrate|show (?:me|us) what|give (?:me|us) a tour of) "
    r".*(?:capabilit\w*|features?|abilities|can do|analytics|automation) |"
    r"^ show(?:case)? off (?:the |your )?(?:\w+ ){0,3}(?:analytics|analysis|automation|features?|capabilit\w*) $|"
    r"^ (?:run|show|give) (?:me )?(?:an?|the) (?:\w+ ){1,3}(?:example|sample run) $| demonstrate |"
    r"^ (?:run|show|give|try) (?:me |us )?(?:an?|the|some) (?:example|sample|demo) (?:of )?(?:the |an? )?(?:\w+ ){0,2}"
    r"(?:automation|analysis|analytics|features?|capabilit\w*) $|"
    r" (?:tour|walkthrough|walk through|overview) of (?:the |your )?(?:\w+ ){0,3}(?:features?|capabilit\w*|abilities) |"
    r"^ (?:(?:show|give|run) (?:me |us )?)?(?:an? |some )?(?:example|examples|sample) of (?:\w+ ){1,2}"
    r"(?:automation|analysis|analytics|features?|capabilit\w*) $|"
    r"^ show (?:me |us )?(?:the |your )?(?:\w+ ){1,3}(?:capabilit\w*|features) $")
"""The brief's demo requests: 'Walk me through financial analysis capabilities', 'Demonstrate sports
analytics features', 'Run a business automation example'."""


ARTEFACT_RE = re.compile(r"\b(?:letter|template|email|subscription|membership|order|reservation|booking|flight|"
                         r"contract|policy|plan|appointment|meeting|account|trip|recipe|event)s?\b", re.I)
"""Things people cancel in the world, not in OperatorOS."""

WORLD_THING_RE = re.compile(r" (?:my|our|a|an|his|her|their) (?:\w+ ){0,2}?(?:letter|template|email|subscription|"
                            r"membership|order|reservation|booking|flight|contract|policy|appointment|meeting|trip|"
                            r"recipe|event|lease|loan|insurance|card|payment)s? ")
"""'how do I cancel my gym membership': a thing of the world (not 'my account': OperatorOS's), no help here."""
