"""Turns a request's text into Commands of the fixed intent vocabulary (DESIGN.md: Intents).

Rules, not a model: standard library only, cheap to import, about a tenth of a millisecond per
typical request. How a request is understood:

1. Cleaning: control characters go; each piece is matched in lower case after Unicode NFKC,
   with polite filler ("hey, could you please ...") removed, number words made digits ("ten",
   "a couple") and typos of command words corrected ("scael", "helthcare", "stauts").
2. Splitting: at "and", "then", "also", ";", "&&" and sentence ends (at most MAX_SEGMENTS
   pieces). A piece that is no command of its own joins its neighbour, so a domain request keeps
   its "and"s ("analyze AAPL and MSFT" is one submit). A domain request with a colon ("summarize
   this: ...", "Submit a healthcare task: ...") keeps everything after the colon as its input,
   whatever that text says. A piece that only names a pool or a number repeats the command
   before it ("restart healthcare and sports", "scale healthcare to 3 and finance to 5").
3. Matching: each piece goes through the matchers of _MATCHERS in order (a pending question,
   follow-up ellipsis, account, help, explicit submit, history, workflows, demo, cancel,
   restart, scale, task, task follow-ups, tasks, pools, health, status), then domain routing
   (submit), and otherwise becomes ``clarify``.

Arguments of each intent (only those that apply are present):

=========  ===================================================================================
status     {}
health     {}
pools      pool?
tasks      status? (TASK_STATUSES), pool?, limit?
task       task_id
scale      pool and exactly one of size (int >= 0) or delta (int, signed)
restart    pool? (none means every pool)
submit     pool, input (the request as typed; explicit routing words removed)
cancel     task_id, or all=True with status? and pool?
demo       domain (DEMO_DOMAINS)
workflows  action (WORKFLOW_ACTIONS); workflow_id, run_id, step, name or input as given
history    {}
help       topic? (HELP_TOPICS)
login      name, register=True for "register NAME" / "sign up as NAME"
logout     {}
whoami     {}
clarify    question, choices (requests the user can type), reason, pending?
=========  ===================================================================================

Decisions worth knowing (the vocabulary is fixed by DESIGN.md; these are its edges):

* A domain request that names no command is ``submit`` to the pool its words point at
  (``general`` when none does), prompt-injection text and all. Explicit routing ("ask the
  finance agents: ...", 'submit "..." to the general pool') keeps only the request in ``input``.
* "automate X", "help me automate X", "create a workflow for X" are
  ``workflows {'action': 'create', 'input': text}``, not a submit.
* "scale up X" is delta +1, "scale down X" -1, "add 3 agents to X" +3, "scale X to 4" size 4.
  "double/halve the X pool" asks for a number (the parser does not know the current size).
* "restart" alone means every pool; a bare "scale", "cancel" or "demo" asks.
* Empty text and greetings are ``help``; text longer than MAX_TEXT_LENGTH is ``clarify`` with
  reason ``too_long`` (never silently truncated).
* ``clarify`` reasons: ``not_understood``, ``missing_pool``, ``missing_amount``,
  ``missing_task``, ``missing_domain``, ``missing_name``, ``ambiguous``, ``too_long``. A question
  about one missing piece carries ``pending`` ({'intent', 'args'}): update_context keeps it, and
  a bare answer on the next request ("healthcare", "4", "bob") completes the command.

Session context: see CONTEXT_KEYS. The interface passes it to parse() and calls update_context()
after each request (with the task id the controller created or touched); the dict is
JSON-serialisable and small, for the session row's JSON column.
"""
from __future__ import annotations

import functools
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

INTENTS = (
    "status", "health", "pools", "tasks", "task", "scale", "restart", "submit", "cancel", "demo",
    "workflows", "history", "help", "login", "logout", "whoami", "clarify",
)
"""The fixed intent vocabulary."""

POOLS = ("healthcare", "financial", "sports", "business", "general")
"""The fixed pool names, in display order."""

DEMO_DOMAINS = ("healthcare", "financial", "sports", "business")
"""Pools that have a scripted demo."""

POOL_SYNONYMS: dict[str, tuple[str, ...]] = {
    "healthcare": ("healthcare", "health care", "health agents", "health agent", "health pool",
                   "health team", "medical", "clinical", "med", "hc"),
    "financial": ("financial", "finance", "fin", "stock", "stocks", "trading"),
    "sports": ("sports", "sport", "betting", "bets", "sportsbook"),
    "business": ("business", "automation", "biz", "ops", "operations", "enterprise"),
    "general": ("general", "default", "misc", "generic", "catch all"),
}
"""Words that name each pool in a command ("scale the medical pool", "show the stock agents")."""

MAX_TEXT_LENGTH = 4000
"""Longest request text understood; a longer one gets a ``clarify`` with reason ``too_long``."""

MAX_SEGMENTS = 20
"""Most pieces a request is split into; a text with more is understood as one piece (a pasted
text full of "and"s is not a list of commands, and the work stays bounded)."""

TASK_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
"""Values of ``args.status`` for ``tasks`` (models.TaskStatus)."""

WORKFLOW_ACTIONS = ("list", "show", "run", "create", "approve", "reject")
"""Values of ``args.action`` for ``workflows``."""

HELP_TOPICS = ("scaling", "status", "health", "pools", "tasks", "demos", "workflows", "history", "account")
"""Values of ``args.topic`` for ``help``."""

CONTEXT_KEYS: dict[str, str] = {
    "last_intent": "intent of the last command understood (a not-understood request leaves it)",
    "last_args": "that command's arguments without free text (pool, size, delta, status, ...)",
    "last_pool": "pool most recently named or acted on: 'it' in 'scale it to 5'",
    "last_task_id": "task most recently submitted, shown or cancelled: 'cancel that task'",
    "last_workflow_id": "workflow most recently shown or run: 'run it'",
    "last_run_id": "workflow run most recently shown or decided: 'approve step 2'",
    "pending": "{'intent', 'args'} of a clarify question awaiting one missing piece",
}
"""Keys of the session context that parse() reads and update_context() writes."""

EXAMPLE_REQUESTS = (
    "Show me the system status", "Show the pools", "List my tasks", "Scale up the healthcare agent pool",
    "Analyze AAPL stock performance", "Show me a healthcare demo", "help",
)
"""Choices offered when a request is not understood."""

_REMEMBERED_ARGS: dict[str, type] = {
    "pool": str, "size": int, "delta": int, "status": str, "limit": int, "domain": str, "task_id": int,
    "action": str, "workflow_id": int, "run_id": int, "step": int, "topic": str, "all": bool,
}
"""Arguments kept in ``last_args`` and pending questions, with their types (never free text)."""

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "dozen": 12,
}
"""Number words read as digits ("scale healthcare to ten")."""

_MAX_NUMBER_DIGITS = 9
"""Longer digit runs are not read as sizes or ids."""

_STATUS_WORDS = {
    "failed": "failed", "failing": "failed", "failures": "failed", "failure": "failed", "errored": "failed",
    "error": "failed", "errors": "failed", "broken": "failed", "crashed": "failed",
    "queued": "queued", "pending": "queued", "waiting": "queued", "backlog": "queued",
    "running": "running", "active": "running", "progress": "running",
    "succeeded": "succeeded", "successful": "succeeded", "completed": "succeeded", "complete": "succeeded",
    "done": "succeeded", "finished": "succeeded", "success": "succeeded",
    "cancelled": "cancelled", "canceled": "cancelled",
}
"""Words for task statuses ("show completed jobs" is status succeeded)."""

_POOL_NOUNS = frozenset({"pool", "pools", "agent", "agents", "worker", "workers"})
_POOL_NOUN_AFTER_NAME = frozenset({"pool", "pools", "agent", "agents", "worker", "workers", "team",
                                   "one", "ones", "side", "capacity"})
_PRONOUNS = frozenset({"it", "its", "them", "their", "that", "this", "those", "these"})
_DISPLAY = frozenset({"show", "list", "display", "view", "see", "check", "get", "give", "how", "hows",
                      "what", "whats", "status", "performance", "performing", "doing", "busy", "stats",
                      "metrics", "load", "size", "sizes"})

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _weighted(strong: str, weak: str) -> dict[str, int]:
    return {**dict.fromkeys(weak.split(), 1), **dict.fromkeys(strong.split(), 2)}


_UP_WORDS = _words("up increase add more grow expand bigger larger boost bump spin another raise extra "
                   "additional")
_DOWN_WORDS = _words("down decrease reduce remove fewer less shrink smaller cut kill drop lower trim")
_CHANGE_WORDS = (_UP_WORDS | _DOWN_WORDS | {"double", "halve", "triple", "capacity"}) - {"up", "down"}

_REQUEST_OPENERS = _words("""
    write draft compose summarize summarise translate explain tell describe define recommend suggest
    generate create make plan find calculate compute compare analyze analyse research estimate forecast
    predict give brainstorm outline rewrite proofread edit review convert solve teach design build
    prepare evaluate assess check help what whats who whos why how hows when where which is are can could
    should would will does i im ive my list show name fix debug send ask""")
"""First words of a request for work (a general submit needs one of these when no domain matches)."""

_WORK_VERBS = _words("""
    write draft compose summarize summarise translate explain describe define recommend suggest generate
    create plan calculate compute compare analyze analyse research estimate forecast predict brainstorm
    outline rewrite proofread edit review convert solve teach design build prepare evaluate assess fix debug
    answer read classify extract""")
"""Verbs that make 'VERB this: <text>' a domain request whatever the text says."""

_DOMAIN_WORDS: dict[str, dict[str, int]] = {
    "healthcare": _weighted(
        strong="""
        symptom symptoms pain painful ache aches headache headaches migraine migraines fever cough
        coughing sore throat diagnosis diagnose diagnosed medication medications medicine medicines drug
        drugs dose dosage ibuprofen aspirin paracetamol acetaminophen tylenol antibiotic antibiotics
        prescription doctor doctors physician nurse hospital clinic patient patients disease illness
        infection virus flu covid allergy allergies asthma diabetes diabetic insulin cholesterol blood
        heart cardiac stroke cancer tumor chest breath breathing breathless dizzy dizziness nausea
        vomiting vomit rash injury injured sprain sprained ankle fracture surgery therapy therapist
        mental anxiety anxious depression depressed insomnia vaccine vaccination pregnant pregnancy diet
        nutrition calories vitamin vitamins supplement supplements obesity bmi smoking wound bleeding
        emergency ambulance burn burns knee knees shoulder elbow wrist hip neck stomach hurts hurt
        hurting swollen swelling bruise lump itchy itching diarrhea constipation period menstrual
        pediatric poison poisoning overdose suicide suicidal sick treatment treat cure remedy dentist
        dental pill pills medical clinical healthcare cheek sleep waking ill""",
        weak="pressure weight alcohol tired stress skin eye test pounds kg lose benefits exercises worried "
             "safe"),
    "financial": _weighted(
        strong="""
        stock stocks equity equities invest investing investment investments investor portfolio trading
        trader crypto cryptocurrency bitcoin btc ethereum etf etfs bond bonds dividend dividends earnings
        valuation eps nasdaq dow forex currency mortgage refinance loan loans debt retirement 401k 401
        ira roth savings financial finance gold silver commodities hedge brokerage wealth banking apr
        inflation sp500 shares ticker tickers funds index taxes fed spending expenses recession stimulus
        annuity annuities treasury treasuries usd eur gbp dollars euros yen aapl msft tsla nvda amzn goog
        googl nflx qqq voo vti jpm pypl pltr baba""",
        weak="""
        market markets price prices money budget fund yield ratio interest rates rate tax buy sell apple
        microsoft tesla amazon google alphabet nvidia netflix credit bank quarter save outlook profit
        returns cash"""),
    "sports": _weighted(
        strong="""
        sports sport betting bet bets wager parlay moneyline bookmaker sportsbook gambling fantasy lineup
        roster odds league nba nfl mlb nhl mls ncaa ufc f1 playoffs playoff tournament championship
        football soccer basketball baseball hockey tennis golf cricket rugby boxing mma marathon workout
        athlete athletes quarterback pitcher goalkeeper striker touchdown coach lakers celtics warriors
        knicks yankees dodgers chiefs patriots cowboys packers 49ers arsenal liverpool chelsea barcelona
        madrid bayern juventus lebron messi ronaldo olympics underdog spread""",
        weak="""
        game games match matches team teams player players season score scores final finals win training
        fitness defense offense favoured favored favorite cup premier champions week weekend tonight
        tonights sunday injury"""),
    "business": _weighted(
        strong="""
        business automation marketing sales customer customers client clients crm leads onboarding hiring
        hire hires recruiting recruit hr employee employees staff meeting meetings agenda offsite
        newsletter campaign brand branding startup startups competitor competitors competitive swot kpi
        kpis okr okrs roadmap revenue pricing invoice invoices invoicing payroll inventory logistics
        vendor vendors procurement contract contracts proposal stakeholder stakeholders escalation saas
        b2b ecommerce bakery restaurant agency project projects operations ops management manager
        managers managing""",
        weak="""
        company companies email emails support process store shop strategy cost costs forecast product
        launch website pitch deck presentation job description q1 q2 q3 q4 quarterly team truck coffee
        weekly"""),
}
"""Words that point a domain request at a pool, with a weight (2 strong, 1 weak)."""

_DOMAIN_PHRASES: dict[str, dict[str, int]] = {
    "healthcare": {"side effects": 3, "chest pain": 3, "short of breath": 3, "blood pressure": 3,
                   "blood test": 3, "sore throat": 3, "back pain": 3, "mental health": 3, "type 2": 1,
                   "the er": 3, "deep cut": 3, "first aid": 3, "emergency room": 3, "lose weight": 3,
                   "weight loss": 3, "green tea": 1},
    "financial": {"p e": 3, "interest rate": 3, "interest rates": 3, "cash flow": 2, "s p": 3,
                  "index funds": 3, "share price": 3, "stock market": 3, "balance sheet": 3,
                  "federal reserve": 3, "rate decision": 3},
    "sports": {"premier league": 3, "champions league": 3, "world cup": 3, "super bowl": 3, "red sox": 3,
               "real madrid": 3, "half marathon": 3},
    "business": {"project management": 3, "business plan": 3, "market research": 3, "supply chain": 3,
                 "job description": 3, "cost cuts": 3, "job interview": 3, "team building": 3,
                 "customer support": 3, "follow up": 1},
}
"""Phrases that point a domain request at a pool, with a weight."""

_TICKERS_UPPER = _words("""
    USD EUR GBP JPY CHF CAD AUD CNY INR AMD IBM SPY META DIS KO XOM INTC ORCL BAC WMT NKE UBER COIN CVX
    PFE JNJ SHOP SQ ARKK BRK""")
"""Tickers and currency codes that count only in capitals (AMD, SHOP) or with a $ in front."""

_TICKER_RE = re.compile(r"\$[A-Za-z]{1,5}\b|\b[A-Z]{2,5}\b")

_POOL_NAME_WORDS = frozenset(w for words in POOL_SYNONYMS.values() for s in words for w in s.split())

_HELP_TOPIC_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("scaling", _words("scale scaling resize resizing capacity")),
    ("workflows", _words("workflow workflows automation approve approval approvals")),
    ("demos", _words("demo demos demonstration")),
    ("tasks", _words("task tasks submit submitting queue jobs job cancel")),
    ("health", _words("health cpu memory disk monitoring")),
    ("status", _words("status overview dashboard")),
    ("history", _words("history")),
    ("account", _words("login logout register account accounts user users sign")),
    ("pools", _words("pool pools agent agents restart workers")),
)
"""Help topics in order of precedence ("how do I scale a pool" is about scaling)."""

_COMMAND_WORDS = _words("""
    status system overview dashboard summary health healthy healthcheck diagnostics memory database
    providers provider healthcare medical financial finance sports betting business automation general
    default pool pools agent agents workers scale scaling resize increase decrease reduce remove shrink
    expand restart reboot relaunch revive cancel abort terminate task tasks jobs queue queued pending
    running failed completed finished succeeded cancelled backlog workflow workflows approve reject demo
    demos demonstration history previous help commands login logout register username show list display
    check please analyze submit capacity stock stocks""")
"""Words that typos are corrected to."""

_COMMON_WORDS = _words("""
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

_LOOKALIKE_WORDS = _words("""
    stats stat states statue stratus genera demon demons polo scaring expend commends shrine heath spot
    spots sorts filed fiance reside remote summit agency revise""")
"""Real words one typo away from a command word ("statue" is not "status")."""

_KNOWN_WORDS = (_COMMAND_WORDS | _COMMON_WORDS | _LOOKALIKE_WORDS | _POOL_NAME_WORDS
                | frozenset(_NUMBER_WORDS) | frozenset(_STATUS_WORDS) | _REQUEST_OPENERS | _UP_WORDS
                | _DOWN_WORDS | frozenset(w for d in _DOMAIN_WORDS.values() for w in d))
"""Words left as they are by typo correction."""

_COMMANDS_BY_LETTER: dict[str, tuple[str, ...]] = {}
for _word in sorted(_COMMAND_WORDS):
    _COMMANDS_BY_LETTER[_word[0]] = _COMMANDS_BY_LETTER.get(_word[0], ()) + (_word,)

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u2060\ufeff]")
_TOKEN_RE = re.compile(r"[^\W_]+")
_LEADING_FILLER_RE = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|please|pls|plz|kindly|just|so|um+|uh+|yo|alright|well|now|oh|and|also|then|"
    r"never\s*mind|thanks|actually|quick(?:ly)?)\b|(?:could|can|would|will)\s+(?:you|u|ya)(?:\s+please)?\b|"
    r"i\s+(?:want|wanna|would\s+like|'d\s+like|d\s+like)\s+you\s+to\b|go\s+ahead\s+and\b|"
    r"(?:i\s+(?:want|wanna|would\s+like|'d\s+like|d\s+like)\s+to|let\s+me|let'?s)\b)[\s,.!:;-]*", re.I)
_TRAILING_FILLER_RE = re.compile(
    r"[\s,]*\b(?:please|pls|plz|thanks|thank\s+you|thx|ty|for\s+me)\b[\s.!?]*$", re.I)
_SEPARATOR_RE = re.compile(
    r"\s*(?:;+|&&|\s&\s|\b(?:and\s+then|and\s+also|and\s+after\s+that|after\s+that|then|also|plus|and)\b"
    r"|(?<=[.?!])(?=\s))\s*", re.I)
_QUOTED_RE = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d")
_ELLIPSIS_MARKERS = _words("and also then same too about now")
"""First words that mark a follow-up ("and the financial ones?")."""

_ELLIPSIS_WORDS = _words("""
    and also then now what whats about how hows same for the a an one ones in on with to by do too as
    well only just of more fewer less extra pool pools agent agents team it make them those these thing
    please ok okay side again either task tasks job jobs number id""")
"""Words a follow-up may have besides a pool, a number or a task status."""

_VIEW_WORDS = _words("show list me display view get see check us")
"""Words a follow-up to a view may add ("now show failed ones")."""

_GREETINGS = _words("hi hello hey yo hiya howdy morning good")
"""A request of greetings only is answered with help."""

_PENDING_INTENTS = ("scale", "demo", "cancel", "task", "login", "pools", "restart", "tasks")
"""Intents whose clarify question a bare answer can complete."""

_STATUS_WORD_SET = frozenset(_STATUS_WORDS)
_SYSTEM_WORDS = _words("""
    system server servers machine operatoros cpu memory ram disk database db provider providers openai redis
    postgres sqlite uptime diagnostics diagnostic healthcheck check checks status report resources resource
    service services api backend app pools everything monitoring latency""")
"""Words that make 'health' about the machine rather than a person."""

_HEALTH_WORDS = _words("""
    health healthy healthcheck cpu memory ram disk database db provider providers openai diagnostics
    diagnostic uptime resources latency unhealthy postgres sqlite redis""")
_STATUS_NOUNS = _words("status overview dashboard sitrep state stats")
_TASK_NOUNS = _words("tasks task jobs job queue backlog")
_HISTORY_OWNERS = _words("my conversation chat session command commands request requests our show")
_HELP_FILLER = _words("me with on about for please the a using i need some out pls")
_RUN_VERBS = _words("run start execute launch trigger kick rerun")
_RUN_SHOWN = _words("show status check details what whats view get how hows")
_DECISION_WORDS = _words("approve approved approving accept reject rejected rejecting deny decline")
_APPROVE_WORDS = _words("approve approved approving accept")
_APPROVALS_SHOWN = _words("queue pending list show waiting any what whats which")
_DEMO_WORDS = _words("demo demos demonstration showcase walkthrough")
_CANCEL_VERBS = _words("cancel abort stop kill terminate halt")
_RESTART_VERBS = _words("restart reboot revive relaunch respawn resurrect recover reset reload restarting")
_SCALE_VERBS = _words("scale resize rescale autoscale scaling")

_USER_NAME_RE = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_WHOAMI_RE = re.compile(r" (who ?am ?i|whoami|(which|what) user|my user ?name|am i logged in|current user|"
                        r"who (is|s) logged in|whos logged in) ")
_LOGOUT_RE = re.compile(
    r" (log ?out|sign ?out|sign off|log me out|sign me out|log off)( now| of operatoros)? $")
_LOGIN_RE = re.compile(
    r"^(?:(?P<reg>register|sign\s*up|signup|create\s+(?:an?\s+)?(?:new\s+)?(?:account|user))|"
    r"log\s*me\s*in|log\s*in|login|sign\s*me\s*in|sign\s*in|signin|switch\s+(?:to\s+)?(?:user|account)s?|"
    r"switch\s+to)\b(?:\s+(?:as|for|to|user|with|named|called|me\s+as|me))*"
    r"(?:\s+(?P<name>[A-Za-z0-9_.@-]{1,64}))?", re.I)
_HELP_RE = re.compile(
    r"^ (what|which) (can|could|do) (you|i) (do|ask|say|type)( you)? |^ what can i ask |"
    r"^ (list |show |available |show me the )?commands |^ what commands | commands are available |"
    r"^ (im|i am) (lost|confused|stuck) $|^ how (do|can|should) i use |^ how does this work |^ how to use |"
    r"^ show me how to use |^ (usage|menu|options|getting started|get started) $|^ what (do|can) you "
    r"(do|offer) |^ what are you |^ explain (how )?(this|operatoros|the system|it) |^ explain how (the )?"
    r"(agents|pools|workflows|demos|tasks|scaling|operatoros)( in this system)? work|"
    r"^ what (can|does) (this|it|operatoros|the system)( thing| tool| app)? do ")
_HOW_DO_I_RE = re.compile(r" how (?:(?:do|can|should|would) (?:i|we) |to )| how (?:does|do) .* works? $")
_HISTORY_RE = re.compile(
    r" what did i (ask|say|type|do|request|send)| what have i (asked|said|done|typed|requested|sent)|"
    r" (previous|past|earlier|recent|last|old) (commands|requests|messages|questions|conversation)|"
    r" conversation (log|history)| what did we (talk|discuss)")
_AUTOMATE_RE = re.compile(r" automat(e|ed|es|ing) | automation (for|of|to|that) ")
_CREATE_WORKFLOW_RE = re.compile(r" (create|build|make|set up|setup|design|define|add|new|draft) .*workflow")
_RUN_NAMED_RE = re.compile(
    r" (?:run|start|execute|launch|trigger|kick off) (?:the |my |our )?(.+?) workflow ")
_WHAT_CAN_THEY_DO_RE = re.compile(r" what (?:can )?(?:the )?\w+ (?:agents?|pool|team) (?:can )?do ")
_CANCEL_NUMBER_RE = re.compile(r" (?:cancel|abort|stop|kill|terminate|halt) (\d{1,9}) ")
_BRING_BACK_RE = re.compile(r" bring (\w+ ){0,4}back | start (\w+ ){0,3}again ")
_MORE_RE = re.compile(r" (more|fewer|another|less) ")
_SET_SIZE_RE = re.compile(r" (set|want|need|make|give) .*(\d+|size)")
_TURN_UP_RE = re.compile(r" (bump|turn|spin|ramp|take|bring|dial|knock) (\w+ ){0,4}(up|down) ")
_MAKE_IT_RE = re.compile(r" make (it|them|that) \d+ ")
_SIZE_TO_RE = re.compile(r" (?:to|size of|size|at|make (?:it|them|that)|be) (\d{1,9}) ")
_ADD_TO_RE = re.compile(r" (?:add|give|assign) (?:\w+ ){0,3}to \d+ ")
_WANT_N_RE = re.compile(r" (?:want|need|have|give [a-z ]+?|set [a-z ]+?) (\d{1,9}) (?:agents?|workers?) ")
_DELTA_RES = (
    re.compile(r" by (\d{1,9}) "),
    re.compile(r" (\d{1,9}) (?:more|extra|additional|fewer|less) "),
    re.compile(r" (?:add|remove|kill|drop|cut|spin up|give [a-z ]+?|up|down) (\d{1,9}) "),
    re.compile(r" (\d{1,9}) (?:\w+ )?(?:agents?|workers?) "),
)
"""Where the number of a delta is ("by 2", "2 more", "add 2", "2 agents"), in order."""

_FOLLOWUP_RE = re.compile(
    r" what happened| (is|was|has) (it|that|my task|the task) (done|finished|ready|complete|completed|over|"
    r"still running|working)| did (it|that) (finish|fail|work|succeed|complete|run)|"
    r" (the |my )?(result|results|output|answer) | my (last )?task | (the|that|this) task |"
    r" (how is|hows) it going | any (news|update|updates) | status of (it|that) ")
_RUNNING_RE = re.compile(
    r" working on | whats running | what is running | running (right )?now | in progress | is running ")
_RUNNING_NOW_RE = re.compile(r" (whats|what is|is) running | running (right )?now ")
_LIMIT_RE = re.compile(r" (?:last|latest|recent|top|first|newest) (\d{1,9}) |"
                       r" (\d{1,9}) (?:most recent|latest|recent|last) ")
_MACHINE_RE = re.compile(r" (load|resource usage) (on|of) (the )?(machine|server|system) |"
                         r" (server|machine) (ok|up|doing|alive) | system (check|checkup) ")
_STATUS_RE = re.compile(
    r" whats? (is )?going on | how are things | how (is|s) everything | hows everything |"
    r" everything (ok|okay|alright|fine|good) | where are we | how(s| is| are) (it all|things|stuff) "
    r"(going|looking|running) | big picture | summary of (the )?(whole )?(system|operatoros|everything) |"
    r" (system|operatoros) (summary|report) ")
_TASK_ID_RE = re.compile(r" (?:task|job|tasks|jobs|ticket) (?:number |no |id |num )?(\d{1,9}) ")
_ID_RE = re.compile(r" (?:id|number|no|num) (\d{1,9}) ")
_HASH_ID_RE = re.compile(r"#\s?(\d{1,9})\b")
_POSSESSIVE_RE = re.compile(r"(\d)'s\b")
_THOUSANDS_RE = re.compile(r"(\d),(\d{3})\b")
_NOT_A_COUNT_RE = re.compile(r"(?<![\w-])-\s?\d+(?:\.\d+)?|\d+\.\d+")

_POOL_ALT = "|".join(sorted((re.escape(s).replace(r"\ ", r"\s+") for ws in POOL_SYNONYMS.values()
                             for s in ws), key=len, reverse=True))
"""Any pool synonym, longest first, for the routing patterns below."""

_QUOTED_TO_RE = re.compile(
    r"^(?:submit|send|ask|give)\s+[\"\u201c](?P<rest>.+?)[\"\u201d]\s+to\s+(?:the\s+)?"
    rf"(?P<pool>{_POOL_ALT})\b(?:\s+(?:pool|agents?|team|workers?))?\s*[.!]?$", re.I | re.S)
_ROUTE_RE = re.compile(
    r"^(?:submit|send|forward|route|pass|hand|give)\b(?:\s+(?:this|it|that|the\s+following|"
    r"(?:a|an|this|the)\s+(?:new\s+)?(?:task|job|request|question)|task|job|request))?\s+to\s+(?:the\s+)?"
    rf"(?P<pool>{_POOL_ALT})\b(?:\s+(?:pool|agents?|team|workers?))?\s*[:,\-\u2013]?\s*(?P<rest>.*)$",
    re.I | re.S)
_ASK_RE = re.compile(
    rf"^ask\s+(?:the\s+)?(?P<pool>{_POOL_ALT})\s+(?:pool|agents?|team|workers?|experts?)\b"
    r"\s*[:,\-\u2013]?\s*(?P<rest>.*)$", re.I | re.S)
_SUBMIT_RE = re.compile(
    r"^submit\b\s*(?:(?:a|an|this|the|new|my)\s+)*"
    rf"(?:(?P<pool>{_POOL_ALT})\s+)?(?:task|job|request|query|question)?\b"
    rf"(?:\s+to\s+(?:the\s+)?(?P<pool2>{_POOL_ALT})\b(?:\s+(?:pool|agents?|team))?)?"
    r"\s*[:,\-\u2013]?\s*(?:to\s+)?(?P<rest>.*)$", re.I | re.S)


@dataclass
class Command:
    """One understood command: an intent of the vocabulary and its arguments."""

    intent: str
    """One of INTENTS."""
    args: dict[str, Any] = field(default_factory=dict)
    """Arguments of the intent (see the module docstring); only JSON values."""
    text: str = ""
    """The part of the request this command came from, as typed."""

    def __post_init__(self) -> None:
        if self.intent not in INTENTS:
            raise ValueError(f"unknown intent {self.intent!r}")
        if not isinstance(self.args, dict):
            raise TypeError(f"args of {self.intent!r} must be a dict, not {type(self.args).__name__}")


def normalise(text: str) -> str:
    """Lower case, NFKC, no control characters, single spaces, polite filler stripped from both ends.

    Args:
        text: Any request text.

    Returns:
        The cleaned text ("Hey, could you please show the pools?" -> "show the pools?").
    """
    cleaned = unicodedata.normalize("NFKC", _CONTROL_RE.sub(" ", str(text)))
    cleaned = re.sub(r"\s+", " ", cleaned.replace("\u2019", "'").replace("\u2018", "'")).strip().lower()
    return _strip_filler(cleaned).lower()


def find_pool(text: str) -> str | None:
    """The pool a text names through any synonym (typos tolerated), or None.

    Args:
        text: Any text, e.g. "the helthcare agents".

    Returns:
        The first pool named, e.g. "healthcare", or None.
    """
    pools, _ = _pools_named(_tokens(normalise(text)))
    return pools[0] if pools else None


def parse(text: str, context: dict[str, Any] | None = None) -> list[Command]:
    """Understand a request: one Command, or several for a compound request.

    Args:
        text: The request as typed.
        context: The session context (CONTEXT_KEYS) for follow-ups, or None.

    Returns:
        At least one Command; an unknown or ambiguous request yields one ``clarify``.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if len(text) > MAX_TEXT_LENGTH:
        question = (f"That request is {len(text)} characters long; the limit is {MAX_TEXT_LENGTH}. "
                    "Could you shorten it?")
        return [_clarify("too_long", question, list(EXAMPLE_REQUESTS[:3]), text=text[:200])]
    cleaned = _CONTROL_RE.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    words = _TOKEN_RE.findall(cleaned.lower())
    if not cleaned.strip("?") or (words and _GREETINGS.issuperset(words)):
        return [Command("help", {}, cleaned)]
    ctx = _clean_context(context)
    try:
        return _parse_request(cleaned, ctx)
    except Exception:  # noqa: BLE001 - a parser bug must not reach the user as a traceback
        logger.exception("could not parse %r", cleaned[:200])
        return [_not_understood(cleaned)]


def update_context(context: dict[str, Any] | None, commands: list[Command],
                   outcome_task_id: int | None = None) -> dict[str, Any]:
    """The session context after a request (a new dict; the given one is not changed).

    Args:
        context: The context before the request, or None.
        commands: The commands the request was understood as (parse's result).
        outcome_task_id: The task the request created or touched, when the controller says so.

    Returns:
        The new context, JSON-serialisable, with the keys of CONTEXT_KEYS.
    """
    new = _clean_context(context)
    new.pop("pending", None)
    for command in commands:
        _remember(new, command)
    last = next((c for c in reversed(commands) if not _is_not_understood(c)), None)
    if last is not None:
        new["last_intent"] = last.intent
        new["last_args"] = _clean_args(last.args)
        pending = last.args.get("pending")
        if last.intent == "clarify" and isinstance(pending, dict):
            new["pending"] = {"intent": pending["intent"], "args": _clean_args(pending.get("args"))}
    if _is_int(outcome_task_id):
        new["last_task_id"] = outcome_task_id
    return new


# --- a request: segments and groups ------------------------------------------------------------


@dataclass
class _Segment:
    """One piece of a request, with what the matchers need to know about it."""

    raw: str
    """The piece as typed."""
    core: str
    """The piece without polite filler, case kept."""
    tokens: list[str]
    """Lower-case words, typos corrected, number words as digits."""
    text: str
    """The tokens joined with single spaces and padded with one space each side."""
    numbers: list[int]
    pools: list[str]
    """Pools named, in order."""
    pool_tokens: set[int]
    """Positions of the tokens that name pools."""
    content: dict[str, int]
    """Domain scores of the words that are not pool names."""
    joined: bool
    """Whether the piece continues something ("and ...", or after a separator)."""

    def has(self, phrase: str) -> bool:
        return f" {phrase} " in self.text

    def has_any(self, words: frozenset[str]) -> bool:
        return not words.isdisjoint(self.tokens)

    @property
    def content_score(self) -> int:
        return sum(self.content.values())

    @property
    def pool_noun(self) -> bool:
        return not _POOL_NOUNS.isdisjoint(self.tokens)


@dataclass
class _Group:
    """Adjacent segments understood as one command."""

    kind: str
    """admin, submit or unknown."""
    start: int
    end: int
    command: Command
    merged: bool = False
    """Whether the group holds more than its first segment (it is then understood again whole)."""
    swallow: bool = False
    """A domain request with a colon: everything after it belongs to its input."""


def _parse_request(cleaned: str, ctx: dict[str, Any]) -> list[Command]:
    groups = _groups(cleaned, ctx)
    commands = _dedupe([_finish(group, cleaned, ctx) for group in groups])
    return commands or [_not_understood(cleaned)]


def _groups(cleaned: str, ctx: dict[str, Any]) -> list[_Group]:
    """The segments of a request gathered into commands.

    1. A segment after a domain request with a colon belongs to it.
    2. A segment that is no command of its own (unknown, or more of a domain request) joins the
       group before it; before the first group it waits and joins a domain request that follows.
    3. Any other segment starts a group, and the local context follows it ("... and show its status").
    """
    groups: list[_Group] = []
    lead: tuple[int, int] | None = None
    local = dict(ctx)
    for start, end, separator in _split(cleaned):
        if groups and groups[-1].swallow:
            _extend(groups[-1], end)
            continue
        raw = cleaned[start:end].strip(" \t\n,")
        kind, command = _understand_piece(raw, local, groups[-1].command if groups else None,
                                          joined=bool(separator or groups or lead))
        if kind == "filler":
            continue
        if groups and (kind in ("unknown", "submit_part") or kind == groups[-1].kind == "submit"):
            _extend(groups[-1], end)
            continue
        if kind == "unknown":
            lead = (lead[0] if lead else start, end)
            continue
        if groups:
            _backfill(groups[-1], command)
        first = lead[0] if lead and kind == "submit" else start
        lead = None
        groups.append(_Group(kind, first, end, command, merged=first != start,
                             swallow=kind == "submit" and ":" in raw))
        local = update_context(local, [command])
    if lead and not groups:
        groups.append(_Group("unknown", lead[0], lead[1], _not_understood(""), merged=True))
    return groups


def _understand_piece(raw: str, ctx: dict[str, Any], prev: Command | None, joined: bool
                      ) -> tuple[str, Command]:
    seg = _segment(raw, joined)
    if not seg.tokens:
        return ("filler" if not seg.core.strip(" .,!?;:-") else "unknown"), _not_understood(raw)
    kind, command = _understand(seg, ctx, prev)
    if kind not in ("submit", "submit_part") and ":" in raw:
        return _colon_request(seg, ctx, prev) or (kind, command)
    return kind, command


def _colon_request(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> tuple[str, Command] | None:
    """'summarize this: <text>' is a domain request whatever the text after the colon says."""
    head = _segment(seg.raw.split(":", 1)[0], joined=seg.joined)
    if not head.tokens:
        return None
    kind, command = _understand(head, ctx, prev)
    if kind not in ("submit", "submit_part") and head.tokens[0] not in _WORK_VERBS:
        return None
    kind = kind if kind in ("submit", "submit_part") else "submit"
    if command.intent == "workflows":
        return kind, Command("workflows", {"action": "create", "input": seg.raw}, seg.raw)
    return kind, _submit(seg) or _submit_command(seg, seg.raw)


def _backfill(group: _Group, command: Command) -> None:
    """'scale healthcare and finance to 3': the amount of the second scale goes to the first too."""
    question = group.command.args
    if (group.command.intent == "clarify" and question.get("reason") == "missing_amount"
            and command.intent == "scale" and not group.merged):
        amount = {k: v for k, v in command.args.items() if k in ("size", "delta")}
        group.command = Command("scale", {**question["pending"]["args"], **amount}, group.command.text)


def _extend(group: _Group, end: int) -> None:
    group.end = max(group.end, end)
    group.merged = True


def _finish(group: _Group, cleaned: str, ctx: dict[str, Any]) -> Command:
    """The command of a group; a merged group is understood again as a whole."""
    if not group.merged:
        return group.command
    seg = _segment(cleaned[group.start:group.end].strip(" \t\n,"), joined=False)
    if group.kind == "submit":
        if group.command.intent == "workflows":
            return Command("workflows", {"action": "create", "input": seg.raw}, seg.raw)
        return _explicit_submit(seg, ctx, None) or _submit(seg) or _submit_command(seg, seg.raw)
    if not seg.tokens:
        return _not_understood(seg.raw)
    kind, command = _understand(seg, ctx, None)
    if group.kind == "unknown":
        return command
    if kind in ("unknown", "submit", "submit_part") or command.intent != group.command.intent:
        return group.command
    return command


def _dedupe(commands: list[Command]) -> list[Command]:
    result: list[Command] = []
    for command in commands:
        if result and result[-1].intent == command.intent and result[-1].args == command.args:
            continue
        result.append(command)
    return result


def _split(text: str) -> list[tuple[int, int, str]]:
    """Spans (start, end, separator before) of the segments of a request; quotes are not split."""
    quoted = [m.span() for m in _QUOTED_RE.finditer(text)]
    spans: list[tuple[int, int, str]] = []
    start, separator = 0, ""
    for match in _SEPARATOR_RE.finditer(text):
        if match.end() == match.start() or any(a <= match.start() < b for a, b in quoted):
            continue
        if match.start() > start or not spans:
            spans.append((start, match.start(), separator))
        start, separator = match.end(), match.group().strip() or "."
    spans.append((start, len(text), separator))
    spans = [(a, b, s) for a, b, s in spans if b > a]
    return spans if 0 < len(spans) <= MAX_SEGMENTS else [(0, len(text), "")]


# --- a segment: its features ----------------------------------------------------------------------


def _segment(raw: str, joined: bool) -> _Segment:
    core = _strip_filler(raw)
    lowered = unicodedata.normalize("NFKC", core).lower().replace("\u2019", "'")
    tokens = _tokens(_plain_numbers(lowered))
    first = _TOKEN_RE.findall(raw.lower())[:1]
    joined = joined or bool(first and first[0] in _ELLIPSIS_MARKERS) or raw.lower().startswith(
        ("what about", "how about"))
    pools, pool_tokens = _pools_named(tokens)
    text = " " + " ".join(tokens) + " "
    numbers = [int(t) for t in tokens if t.isdigit() and len(t) <= _MAX_NUMBER_DIGITS]
    content = _content_scores(tokens, text, pool_tokens)
    tickers = _count_tickers(core)
    if tickers:
        content["financial"] = content.get("financial", 0) + 3 * tickers
    return _Segment(raw, core, tokens, text, numbers, pools, pool_tokens, content, joined)


def _plain_numbers(lowered: str) -> str:
    """'1,000' is 1000 and "task 3's" is task 3; '-3' and '2.5' are no counts or ids at all."""
    lowered = _THOUSANDS_RE.sub(r"\1\2", _POSSESSIVE_RE.sub(r"\1", lowered))
    return _NOT_A_COUNT_RE.sub(" notacount ", lowered)


def _tokens(lowered: str) -> list[str]:
    words = [_correct(w) for w in _TOKEN_RE.findall(lowered.replace("'", ""))]
    tokens: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "a" and words[i + 1:i + 2] == ["couple"]:
            tokens.append("2")
            i += 3 if words[i + 2:i + 3] == ["of"] else 2
            continue
        tokens.append(str(_NUMBER_WORDS[word]) if word in _NUMBER_WORDS else word)
        i += 1
    return tokens


def _strip_filler(text: str) -> str:
    previous = None
    cleaned = text.strip()
    while previous != cleaned:
        previous = cleaned
        cleaned = _LEADING_FILLER_RE.sub("", cleaned).strip()
        cleaned = _TRAILING_FILLER_RE.sub("", cleaned).strip()
    return cleaned


@functools.lru_cache(maxsize=8192)
def _correct(word: str) -> str:
    """The command word a token is a typo of ("scael" -> "scale"), or the token itself."""
    if len(word) < 4 or word in _KNOWN_WORDS or not word.isascii() or not word.isalpha():
        return word
    best, best_distance = word, 3
    for candidate in _COMMANDS_BY_LETTER.get(word[0], ()) + _COMMANDS_BY_LETTER.get(word[1], ()):
        if abs(len(candidate) - len(word)) > 2:
            continue
        if candidate[0] != word[0] and word[:2] != candidate[1::-1]:
            continue
        distance = _osa_distance(word, candidate, best_distance)
        if distance < best_distance and _typo_allowed(word, candidate, distance):
            best, best_distance = candidate, distance
    return best


def _typo_allowed(word: str, candidate: str, distance: int) -> bool:
    """Short words allow one slip that is not a substitution ("taks"), longer ones more."""
    if len(candidate) <= 5:
        substitution = len(word) == len(candidate) and sorted(word) != sorted(candidate)
        return distance == 1 and not substitution
    if len(candidate) <= 7:
        return distance == 1
    return distance <= 2


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (edits and adjacent transpositions), capped at ``limit``."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) >= limit:
            return limit
        before, previous = previous, current
    return min(previous[len(b)], limit)


def _pools_named(tokens: list[str]) -> tuple[list[str], set[int]]:
    """Pools named by synonyms, in order of appearance, and the positions of the naming tokens."""
    found: list[tuple[int, str]] = []
    used: set[int] = set()
    for pool, synonyms in POOL_SYNONYMS.items():
        for synonym in synonyms:
            words = synonym.split()
            for i in range(len(tokens) - len(words) + 1):
                span = range(i, i + len(words))
                if tokens[i:i + len(words)] == words and used.isdisjoint(span):
                    found.append((i, pool))
                    used.update(span)
    pools: list[str] = []
    for _, pool in sorted(found):
        if pool not in pools:
            pools.append(pool)
    return pools, used


def _content_scores(tokens: list[str], text: str, pool_tokens: set[int]) -> dict[str, int]:
    """Domain scores of the words that are not pool names."""
    scores: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if i in pool_tokens:
            continue
        for pool, words in _DOMAIN_WORDS.items():
            if token in words:
                scores[pool] = scores.get(pool, 0) + words[token]
    for pool, phrases in _DOMAIN_PHRASES.items():
        for phrase, weight in phrases.items():
            if f" {phrase} " in text:
                scores[pool] = scores.get(pool, 0) + weight
    return scores


def _count_tickers(core: str) -> int:
    count = 0
    for match in _TICKER_RE.finditer(core):
        word = match.group()
        if word.startswith("$") or word in _TICKERS_UPPER or word.lower() in _DOMAIN_WORDS["financial"]:
            count += 1
    return count


# --- a segment: the matchers, in order -----------------------------------------------------------


def _understand(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> tuple[str, Command]:
    """(kind, command) of one segment; kind is admin, submit, submit_part or unknown."""
    for matcher in _MATCHERS:
        command = matcher(seg, ctx, prev)
        if command is not None:
            command.text = command.text or seg.raw
            create = command.intent == "workflows" and command.args.get("action") == "create"
            return ("submit" if command.intent == "submit" or create else "admin"), command
    command = _submit(seg)
    if command is not None:
        return ("submit_part" if prev is not None and prev.intent == "submit" else "submit"), command
    return "unknown", _pool_only(seg) or _not_understood(seg.raw)


def _pending_answer(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """A bare answer ("healthcare", "4", "bob") to the clarify question of the last request."""
    pending = ctx.get("pending")
    if prev is not None or pending is None or len(seg.tokens) > 5:
        return None
    intent, args = pending["intent"], dict(pending["args"])
    if intent == "login" and len(seg.tokens) == 1 and _USER_NAME_RE.fullmatch(seg.core):
        return Command("login", {**args, "name": seg.core})
    command = _inherit(seg, intent, args, pending=True)
    return None if command is None or command.intent == "clarify" else command


def _ellipsis(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """'and the financial ones?', 'finance to 5', 'a sports one': the command before, again."""
    rest = {t for i, t in enumerate(seg.tokens) if i not in seg.pool_tokens and not t.isdigit()
            and t not in _ELLIPSIS_WORDS and t not in _STATUS_WORDS}
    gives = seg.pools or seg.numbers or not _STATUS_WORD_SET.isdisjoint(seg.tokens)
    if not gives or not rest <= _VIEW_WORDS:
        return None
    if prev is not None:
        intent, args = prev.intent, dict(prev.args)
        if intent == "clarify" and isinstance(args.get("pending"), dict):
            intent, args = args["pending"]["intent"], dict(args["pending"]["args"])
    else:
        intent, args = ctx.get("last_intent"), dict(ctx.get("last_args", {}))
        explicit = seg.joined or (intent == "scale" and seg.numbers)
        if intent in ("scale", "restart", "cancel") and not explicit:
            return None  # changing things again needs an "and ..." or a number
        if intent in ("scale", "restart", "pools", "demo") and ctx.get("last_pool"):
            args.setdefault("pool", ctx["last_pool"])
    if intent is None or (rest and intent not in ("pools", "tasks", "demo", "task")):
        return None
    return _inherit(seg, intent, args, pending=False)


def _inherit(seg: _Segment, intent: str, args: dict[str, Any], pending: bool) -> Command | None:
    """The command ``intent`` again, with what this segment gives (a pool, a number, a status)."""
    pool = seg.pools[0] if seg.pools else None
    if intent in ("pools", "restart"):
        return Command(intent, {"pool": pool}) if pool else None
    if intent == "demo":
        domain = pool or _routed_pool(seg.content)
        return Command("demo", {"domain": domain}) if domain in DEMO_DOMAINS else None
    if intent == "tasks":
        new = {k: v for k, v in args.items() if k in ("status", "pool", "limit")}
        status = _task_status(seg)
        new.update({"pool": pool} if pool else {}, **({"status": status} if status else {}))
        return Command("tasks", new) if pool or status else None
    if intent in ("task", "cancel"):
        return Command(intent, {"task_id": seg.numbers[0]}) if seg.numbers and not pool else None
    if intent == "scale":
        return _inherit_scale(seg, args, pool)
    return None


def _inherit_scale(seg: _Segment, args: dict[str, Any], pool: str | None) -> Command:
    new: dict[str, Any] = {"pool": pool or args.get("pool")}
    amount = _scale_amount(seg)
    if not amount and seg.numbers:
        number = seg.numbers[0]
        amount = {"delta": number if args["delta"] >= 0 else -number} if "delta" in args else {"size": number}
    new.update(amount or {k: args[k] for k in ("size", "delta") if k in args})
    if new["pool"] is None:
        return _scale_clarify_pool(new)
    if "size" not in new and "delta" not in new:
        return _scale_clarify_amount(new["pool"])
    return Command("scale", new)


def _account(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if _WHOAMI_RE.search(seg.text):
        return Command("whoami", {})
    if _LOGOUT_RE.match(seg.text):
        return Command("logout", {})
    match = _LOGIN_RE.match(seg.core)
    if match is None or seg.core[match.end():].strip(" .!?"):
        return None
    register, name = bool(match.group("reg")), match.group("name")
    if name is not None and name.lower() in _COMMON_WORDS and name.lower() != "me":
        return None
    if name is None or name.lower() == "me":
        args: dict[str, Any] = {"register": True} if register else {}
        return _clarify("missing_name", "Which user name should I use?",
                        ["log in as alice", "register alice"], pending={"intent": "login", "args": args})
    return Command("login", {"name": name, "register": True} if register else {"name": name})


def _help(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if seg.tokens[0] == "help":
        rest = [t for t in seg.tokens[1:] if t not in _HELP_FILLER]
        if seg.content_score or not _REQUEST_OPENERS.isdisjoint(rest) or "automate" in rest:
            return None  # "help me write a letter" is work, not help
        return _help_command(rest)
    if _HELP_RE.search(seg.text):
        return _help_command([])
    if _HOW_DO_I_RE.match(seg.text) and not seg.content_score:
        command = _help_command(seg.tokens)
        return command if command.args else None
    return None


def _help_command(words: list[str]) -> Command:
    for topic, topic_words in _HELP_TOPIC_WORDS:
        if not topic_words.isdisjoint(words):
            return Command("help", {"topic": topic})
    return Command("help", {})


def _explicit_submit(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """'ask the finance agents: ...', 'submit "..." to the general pool', 'submit a task: ...'."""
    for pattern in (_QUOTED_TO_RE, _ROUTE_RE, _ASK_RE, _SUBMIT_RE):
        match = pattern.match(seg.core)
        if match is None:
            continue
        rest = match.group("rest").strip().strip("\"\u201c\u201d").strip()
        if not rest:
            return None
        named = match.groupdict().get("pool") or match.groupdict().get("pool2")
        target = _segment(rest, joined=False)
        pool = find_pool(named) if named else None
        return _submit_command(target, rest, pool=pool or _routed_pool(target.content))
    return None


def _history(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    mine = len(seg.tokens) <= 3 or seg.has_any(_HISTORY_OWNERS)
    if seg.has("history") and not seg.has("history of") and not seg.content_score and mine:
        return Command("history", {})
    return Command("history", {}) if _HISTORY_RE.search(seg.text) else None


def _workflows(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    run_verb = seg.has_any(_RUN_VERBS)
    for command in (_workflow_decision(seg, ctx), _workflow_by_number(seg, run_verb)):
        if command is not None:
            return command
    if _AUTOMATE_RE.search(seg.text):
        return Command("workflows", {"action": "create", "input": seg.raw})
    if seg.has_any(_words("workflow workflows")):
        return _workflow_by_words(seg, run_verb)
    if (ctx.get("last_workflow_id") and ctx.get("last_intent") == "workflows" and run_verb
            and seg.has_any(_PRONOUNS) and len(seg.tokens) <= 4):
        return Command("workflows", {"action": "run", "workflow_id": ctx["last_workflow_id"]})
    return None


def _workflow_decision(seg: _Segment, ctx: dict[str, Any]) -> Command | None:
    """'approve run 12 step 3', 'reject step 2 of run 7', 'approve it'; or the approvals waiting."""
    if seg.has_any(_words("approval approvals")) and not seg.content_score and seg.has_any(_APPROVALS_SHOWN):
        return Command("workflows", {"action": "list"})
    if not seg.has_any(_DECISION_WORDS):
        return None
    run_id = _number_after(seg.text, ("run", "runs"))
    step = _number_after(seg.text, ("step",))
    if run_id is None and step is None and not (ctx.get("last_run_id") and seg.has_any(_PRONOUNS)):
        return None
    action = "approve" if seg.has_any(_APPROVE_WORDS) else "reject"
    run_id = run_id if run_id is not None else ctx.get("last_run_id")
    if run_id is None:
        return _clarify("missing_task", f"Which workflow run should I {action}?", ["list the workflows"])
    args: dict[str, Any] = {"action": action, "run_id": run_id}
    if step is not None:
        args["step"] = step
    return Command("workflows", args)


def _workflow_by_number(seg: _Segment, run_verb: bool) -> Command | None:
    workflow_id = _number_after(seg.text, ("workflow", "workflows", "wf"))
    if workflow_id is not None:
        if seg.has(f"workflow run {workflow_id}"):
            return Command("workflows", {"action": "show", "run_id": workflow_id})
        action = "run" if run_verb and not seg.has(f"run {workflow_id}") else "show"
        return Command("workflows", {"action": action, "workflow_id": workflow_id})
    run_id = _number_after(seg.text, ("run", "runs"))
    if run_id is not None and (seg.has("workflow run") or seg.has_any(_RUN_SHOWN)):
        return Command("workflows", {"action": "show", "run_id": run_id})
    return None


def _workflow_by_words(seg: _Segment, run_verb: bool) -> Command | None:
    if _CREATE_WORKFLOW_RE.search(seg.text):
        return Command("workflows", {"action": "create", "input": seg.raw})
    if run_verb:
        match = _RUN_NAMED_RE.search(seg.text)
        return Command("workflows", {"action": "run", "name": match.group(1)} if match else {"action": "run"})
    return None if seg.content_score else Command("workflows", {"action": "list"})


def _demo(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if not (seg.has_any(_DEMO_WORDS) or _WHAT_CAN_THEY_DO_RE.search(seg.text)):
        return None
    if seg.content_score > 2 and not seg.pools:
        return None
    if seg.has("demos") and seg.has_any(_words("what which list available whats")):
        return Command("help", {"topic": "demos"})
    domain = next((p for p in seg.pools if p in DEMO_DOMAINS), None) or _routed_pool(seg.content)
    if domain in DEMO_DOMAINS:
        return Command("demo", {"domain": domain})
    return _clarify("missing_domain", "Which demo would you like to see?",
                    [f"Show me a {d} demo" for d in DEMO_DOMAINS], pending={"intent": "demo", "args": {}})


def _cancel(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if not (seg.has_any(_CANCEL_VERBS) or seg.has("call off")) or seg.pool_noun:
        return None  # "kill one finance agent" is scaling
    task_id = _task_id(seg)
    if task_id is None:
        match = _CANCEL_NUMBER_RE.search(seg.text)
        task_id = int(match.group(1)) if match else None
    if task_id is not None:
        return Command("cancel", {"task_id": task_id})
    task_words = seg.has_any(_words("task tasks job jobs queued pending queue"))
    if seg.has_any(_words("all every everything")) and task_words:
        status = _task_status(seg, ignore=("cancelled",))
        return Command("cancel", {"all": True, **({"status": status} if status else {}),
                                  **({"pool": seg.pools[0]} if seg.pools else {})})
    if seg.content_score and not task_words:
        return None  # "how do I stop smoking"
    if ctx.get("last_task_id") is not None:
        return Command("cancel", {"task_id": ctx["last_task_id"]})
    return _clarify("missing_task", "Which task should I cancel? Give its number, e.g. \"cancel task 12\".",
                    ["list my queued tasks", "list my running tasks"],
                    pending={"intent": "cancel", "args": {}})


def _restart(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if not (seg.has_any(_RESTART_VERBS) or _BRING_BACK_RE.search(seg.text)):
        return None
    if seg.content_score and not (seg.pools or seg.pool_noun):
        return None
    pool = seg.pools[0] if seg.pools else None
    if pool is None and seg.has_any(_PRONOUNS) and ctx.get("last_pool") and _it_refers_to(ctx) == "pool":
        pool = ctx["last_pool"]
    return Command("restart", {"pool": pool} if pool else {})


def _scale(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    verb = seg.has_any(_SCALE_VERBS)
    if not verb and not _changes_size(seg):
        return None
    if seg.content_score and not (seg.pools or seg.pool_noun):
        return None  # "how do I scale my startup's sales team"
    pronoun = seg.has_any(_PRONOUNS)
    implicit = bool(ctx.get("last_intent") in ("scale", "pools") and ctx.get("last_pool"))
    more = seg.numbers or pronoun or _MORE_RE.search(seg.text)
    if not verb and not (seg.pools or seg.pool_noun or (implicit and more)):
        return None
    pool = seg.pools[0] if seg.pools else None
    if pool is None and ((pronoun and _it_refers_to(ctx) == "pool") or (implicit and not verb)):
        pool = ctx.get("last_pool")
    factor = next((t for t in seg.tokens if t in ("double", "halve", "triple")), None)
    if factor and not seg.numbers:
        return _scale_clarify_amount(pool, factor=factor)
    amount = _scale_amount(seg)
    if pool is None:
        return _scale_clarify_pool(amount)
    return Command("scale", {"pool": pool, **amount}) if amount else _scale_clarify_amount(pool)


def _changes_size(seg: _Segment) -> bool:
    if seg.has_any(_CHANGE_WORDS) or seg.text.startswith(" up the "):
        return True
    if _SET_SIZE_RE.search(seg.text) and (seg.pool_noun or seg.pools):
        return True
    return bool(_TURN_UP_RE.search(seg.text) or _MAKE_IT_RE.search(seg.text))


def _scale_amount(seg: _Segment) -> dict[str, int]:
    """{'size': n} or {'delta': n} from the words of a scale request, or {}."""
    text = seg.text
    match = _SIZE_TO_RE.search(text)
    if match and not _ADD_TO_RE.search(text):
        return {"size": int(match.group(1))}
    match = _WANT_N_RE.search(text)
    if match and not seg.has_any(_words("more fewer less extra additional another")):
        return {"size": int(match.group(1))}
    sign = _direction(seg)
    if not sign:
        return {}
    for pattern in _DELTA_RES:
        match = pattern.search(text)
        if match:
            return {"delta": sign * int(match.group(1))}
    return {"delta": sign}


def _direction(seg: _Segment) -> int:
    for token in seg.tokens:
        if token in _UP_WORDS:
            return 1
        if token in _DOWN_WORDS:
            return -1
    return 0


def _scale_clarify_pool(args: dict[str, Any]) -> Command:
    partial = {k: v for k, v in args.items() if k in ("size", "delta")}
    how = _scale_words(partial)
    choices = [f"scale {p} {how}" if how else f"scale up the {p} pool" for p in POOLS]
    return _clarify("missing_pool", "Which pool should I scale?" + (f" ({how})" if how else ""), choices,
                    pending={"intent": "scale", "args": partial})


def _scale_clarify_amount(pool: str | None, factor: str | None = None) -> Command:
    if pool is None:
        return _scale_clarify_pool({})
    question = (f"To how many agents should I scale the {pool} pool?" if factor is None else
                f"I can't {factor} it without its size: to how many agents should the {pool} pool go?")
    choices = [f"scale up the {pool} pool", f"scale down the {pool} pool", f"scale {pool} to 4",
               f"show the {pool} pool"]
    return _clarify("missing_amount", question, choices, pending={"intent": "scale", "args": {"pool": pool}})


def _scale_words(args: dict[str, Any]) -> str:
    if "size" in args:
        return f"to {args['size']}"
    if "delta" in args:
        return f"up by {args['delta']}" if args["delta"] >= 0 else f"down by {-args['delta']}"
    return ""


def _task(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    task_id = _task_id(seg)
    return Command("task", {"task_id": task_id}) if task_id is not None else None


def _task_followup(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """'what happened to it?', 'is it done yet?', 'show me the result' about the last task."""
    if seg.content_score or seg.pools or seg.has_any(_words("queue backlog tasks jobs")):
        return None
    if not _FOLLOWUP_RE.search(seg.text):
        return None
    if ctx.get("last_task_id") is not None:
        return Command("task", {"task_id": ctx["last_task_id"]})
    if prev is not None:
        return None  # "health check and return results" is not about a task
    return _clarify("missing_task", "Which task do you mean? Give its number, e.g. \"show task 12\".",
                    ["list my tasks", "show my history"], pending={"intent": "task", "args": {}})


def _tasks(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if not (seg.has_any(_TASK_NOUNS) or _RUNNING_RE.search(seg.text)):
        return None
    if seg.content_score and not seg.has_any(_words("tasks jobs queue backlog")):
        return None
    args: dict[str, Any] = {}
    status = _task_status(seg) or ("running" if _RUNNING_NOW_RE.search(seg.text) else None)
    if status:
        args["status"] = status
    if seg.pools:
        args["pool"] = seg.pools[0]
    match = _LIMIT_RE.search(seg.text)
    if match:
        args["limit"] = int(match.group(1) or match.group(2))
    return Command("tasks", args)


def _pools(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    named = any(seg.tokens[i + 1:i + 2] and seg.tokens[i + 1] in _POOL_NOUN_AFTER_NAME
                for i in seg.pool_tokens)
    if seg.pool_noun or named:
        if seg.content_score and not seg.pools:
            return None  # "write an email to my sales agents"
        pool = seg.pools[0] if seg.pools else None
        if pool is None and seg.has_any(_words("its their")):
            pool = ctx.get("last_pool")
        return Command("pools", {"pool": pool} if pool else {})
    if seg.pools and seg.has_any(_DISPLAY) and not seg.content_score:
        return Command("pools", {"pool": seg.pools[0]})
    if (seg.has_any(_PRONOUNS) and seg.has_any(_DISPLAY) and _it_refers_to(ctx) == "pool"
            and not seg.content_score and len(seg.tokens) <= 6):
        return Command("pools", {"pool": ctx["last_pool"]})
    return None


def _health(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if not (seg.has_any(_HEALTH_WORDS) or _MACHINE_RE.search(seg.text)) or seg.content_score:
        return None
    about_the_machine = seg.has_any(_SYSTEM_WORDS) or seg.has_any(_HEALTH_WORDS - {"health", "healthy"})
    if len(seg.tokens) > 4 and not about_the_machine:
        return None  # "what are the health benefits of green tea"
    return Command("pools", {"pool": seg.pools[0]}) if seg.pools else Command("health", {})


def _status(seg: _Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if not (seg.has_any(_STATUS_NOUNS) or _STATUS_RE.search(seg.text)) or seg.content_score:
        return None
    if seg.pools:
        return Command("pools", {"pool": seg.pools[0]})
    if seg.has_any(_words("its their")) and ctx.get("last_pool"):
        return Command("pools", {"pool": ctx["last_pool"]})
    return Command("status", {})


_MATCHERS = (_pending_answer, _ellipsis, _account, _help, _explicit_submit, _history, _workflows, _demo,
             _cancel, _restart, _scale, _task, _task_followup, _tasks, _pools, _health, _status)
"""Matchers in order of precedence; the first that returns a command wins."""


def _submit(seg: _Segment) -> Command | None:
    """A domain request: content that points at a pool, or a request for work of any kind."""
    if seg.content_score > 0:
        return _submit_command(seg, seg.raw)
    if len(seg.tokens) >= 3 and (seg.tokens[0] in _REQUEST_OPENERS or seg.raw.rstrip().endswith("?")):
        return _submit_command(seg, seg.raw)
    if seg.pools and len(seg.tokens) >= 3 and seg.tokens[0] in ("i", "im", "my", "need"):
        return _submit_command(seg, seg.raw)
    return None


def _submit_command(seg: _Segment, text: str, pool: str | None = None) -> Command:
    if pool is None:
        scores = dict(seg.content)
        for name in seg.pools:
            scores[name] = scores.get(name, 0) + 2
        if seg.has_any(_words("health healthy healthier unhealthy")):
            scores["healthcare"] = scores.get("healthcare", 0) + 2
        pool = _routed_pool(scores)
    return Command("submit", {"pool": pool or "general", "input": text})


def _routed_pool(scores: dict[str, int]) -> str | None:
    """The pool with the highest score (ties go to the first in POOLS), or None."""
    best, best_score = None, 0
    for pool in POOLS:
        if scores.get(pool, 0) > best_score:
            best, best_score = pool, scores[pool]
    return best


def _pool_only(seg: _Segment) -> Command | None:
    """A segment that only names a pool ("healthcare") asks what to do with it."""
    if not seg.pools:
        return None
    pool = seg.pools[0]
    choices = [f"show the {pool} pool", f"scale up the {pool} pool", f"list the {pool} tasks"]
    if pool in DEMO_DOMAINS:
        choices.append(f"show me a {pool} demo")
    return _clarify("ambiguous", f"What would you like to do with the {pool} pool?", choices)


# --- small helpers -------------------------------------------------------------------------------


def _task_id(seg: _Segment) -> int | None:
    match = _TASK_ID_RE.search(seg.text)
    if match is None and seg.has_any(_words("task job")):
        match = _ID_RE.search(seg.text)
    if match is None:
        match = _HASH_ID_RE.search(seg.core)
    return int(match.group(1)) if match else None


def _task_status(seg: _Segment, ignore: tuple[str, ...] = ()) -> str | None:
    for token in seg.tokens:
        status = _STATUS_WORDS.get(token)
        if status and status not in ignore:
            return status
    return "running" if seg.has("in progress") else None


def _number_after(text: str, words: tuple[str, ...]) -> int | None:
    match = re.search(r" (?:%s) (?:number |no |id |#)?(\d{1,9}) " % "|".join(words), text)
    return int(match.group(1)) if match else None


def _it_refers_to(ctx: dict[str, Any]) -> str | None:
    """What 'it' means in the context: the last task or the last pool."""
    if ctx.get("last_intent") in ("submit", "task", "cancel") and ctx.get("last_task_id") is not None:
        return "task"
    if ctx.get("last_pool"):
        return "pool"
    return "task" if ctx.get("last_task_id") is not None else None


def _clarify(reason: str, question: str, choices: list[str], pending: dict[str, Any] | None = None,
             text: str = "") -> Command:
    args: dict[str, Any] = {"question": question, "choices": choices, "reason": reason}
    if pending is not None:
        args["pending"] = pending
    return Command("clarify", args, text)


def _not_understood(text: str) -> Command:
    return _clarify("not_understood", "I did not understand that. Try one of these:", list(EXAMPLE_REQUESTS),
                    text=text)


def _is_not_understood(command: Command) -> bool:
    return command.intent == "clarify" and "pending" not in command.args


def _remember(new: dict[str, Any], command: Command) -> None:
    args = command.args
    pool = args.get("pool") or args.get("domain")
    if pool in POOLS:
        new["last_pool"] = pool
    if command.intent in ("task", "cancel") and _is_int(args.get("task_id")):
        new["last_task_id"] = args["task_id"]
    if command.intent == "workflows":
        if _is_int(args.get("workflow_id")):
            new["last_workflow_id"] = args["workflow_id"]
        if _is_int(args.get("run_id")):
            new["last_run_id"] = args["run_id"]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clean_args(args: Any) -> dict[str, Any]:
    """The remembered arguments of a command, each of the type parse gives it."""
    if not isinstance(args, dict):
        return {}
    clean: dict[str, Any] = {}
    for key, value in args.items():
        kind = _REMEMBERED_ARGS.get(key)
        if kind is int and _is_int(value) or kind is str and isinstance(value, str) or kind is bool and (
                value is True):
            clean[key] = value
    if clean.get("pool") not in POOLS:
        clean.pop("pool", None)
    return clean


def _clean_context(context: dict[str, Any] | None) -> dict[str, Any]:
    """Only the known keys, with values of the right types (the context comes from storage)."""
    if not isinstance(context, dict):
        return {}
    clean: dict[str, Any] = {k: context[k] for k in ("last_task_id", "last_workflow_id", "last_run_id")
                             if _is_int(context.get(k))}
    if context.get("last_pool") in POOLS:
        clean["last_pool"] = context["last_pool"]
    if context.get("last_intent") in INTENTS:
        clean["last_intent"] = context["last_intent"]
    if isinstance(context.get("last_args"), dict):
        clean["last_args"] = _clean_args(context["last_args"])
    pending = context.get("pending")
    if isinstance(pending, dict) and pending.get("intent") in _PENDING_INTENTS:
        clean["pending"] = {"intent": pending["intent"], "args": _clean_args(pending.get("args"))}
    return clean
