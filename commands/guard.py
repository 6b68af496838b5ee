"""The last word of the read-only rule: a change stands only when its own words order it.

Part of command_processor (DESIGN.md: Intents). commands/mood.py reads a request clause by clause;
some refusals and questions sit inside a clause it took for an order: "tell me if I should cancel
task 12", "when should I scale up finance?", "show me the pools instead of scaling them", "I'd rather
not restart the finance agents", "scale healthcare to 6?". Here each command that would change
something is checked once more against the words before its action verb and the sentence it ends
in: a negation, a question word, a condition or a request for an explanation there, or a question
mark after a verb that no polite "can you" opens, turns it into the read-only look (or help) with
``declined`` saying what was not done. A missed change is recoverable; an unwanted one is not.

It runs last on every path (after own_work, unavailable and an answer to a pending question), so no later
step can turn a piece back into a change. In a request that asks, refuses or imagines, a submit about the
system itself (logging in or out, the session, the database, 'it', a pool named alone) or made only of
conversation words ("is that wise?") is no work for an agent either: it becomes the look it asks for.
"""
from __future__ import annotations

import re
from typing import Any

from commands import mood
from commands.context import referred
from commands.domain import _ARTEFACT_RE, _POOL_NAMES, CREATIVE_RE
from commands.intent import not_understood
from commands.vocabulary import ASK_RE, QUOTED_TO_RE, ROUTE_RE, SUBMIT_RE
from values import Command

ACTION_VERB_RE = re.compile(
    r"\b(?:scal\w*|resiz\w*|add|adding|added|bump\w*|grow\w*|shrink\w*|increas\w*|decreas\w*|reduc\w*|spin\w*|"
    r"cut\w*|doubl\w*|halv\w*|set|setting|restart\w*|reboot\w*|reset\w*|bounc\w*|cancel\w*|kill\w*|abort\w*|"
    r"terminat\w*|drop\w*|run|runs|running|ran|trigger\w*|launch\w*|start\w*|execut\w*|kick\w*|approv\w*|"
    r"reject\w*|deny|denying|log(?:ging)?(?:\s+(?:me\s+)?(?:out|in|off))|logout|sign\w*|register\w*|take|taking|"
    r"took|bring|bringing|raise|lower|make|making|put|get|retry\w*|rerun\w*|delet\w*|remov\w*|eras\w*|destroy\w*|"
    r"back(?:ing|ed|s)?\s*up|backups?|restor\w*|submit\w*|creat\w*|start\w*|automat\w*|switch\w*|"
    r"sclae\w*|scael\w*|sacle\w*|restrat\w*|resart\w*|retsart\w*|rstart\w*|cancle\w*|cansel\w*|cancl\w*)\b",
    re.I)
"""The verbs that carry a change; the words before the first of them decide whether it is ordered."""

NEGATION_RE = re.compile(r"\b(?:not|never|no|nothing|without|rather|instead|avoid|refrain|leave|dont|cant|wont|"
                         r"didnt|shouldnt|wouldnt|pointless|useless|unnecessary|waste of time|"
                         r"(?:ignore|disregard) (?:that|this|it|my|the last|what)|scratch|accidental\w*|mistaken\w*|"
                         r"by mistake|"
                         r"change[ds]? (?:my|our|their) minds?|second thoughts)\b|\wn['\u2019]t\b", re.I)
"""Words before an action verb that refuse it."""
QUESTION_RE = re.compile(
    r"\b(?:wh(?:ether|en|ich|y|o|at|ere)(?:['\u2019]?s)?|hows?|if|should|shall|ought|any chance|"
    r"would(?!\s+(?:like|love))|could|might|may|wonder\w*|think\w*|consider\w*|maybe|perhaps|before|after|case|"
    r"assum\w*|suppos\w*|imagin\w*|hypothetic\w*|theory|tell me|explain\w*|describ\w*|reason|worth|idea|safe|"
    r"plan\w*|later|tomorrow|harm|risk\w*|danger\w*|hope|nobody|no one|dare|curious|wish|i['\u2019]?ll|we['\u2019]?ll|"
    r"(?:i|we) will|going to|gonna|(?:ok|okay|fine|alright) to|thoughts|part of me|tempted|inclined|toying|"
    r"contemplat\w*|hate|afraid|scared|nervous|worried|careful|unsure|not sure|hesitant|doubt\w*|remind\w*|"
    r"options?|alternatives?|possibilit\w*|advice|advis\w*|opinion|discuss\w*|talk about|debat\w*|"
    r"shl?d|shud|shoud|shuold|shoudl|cld|cud|wld|wud|wat|wut|wht|u think|ya think|"

    r"simulat\w*|preview\w*|dry[- ]?run|rehears\w*|get ready|ready to|prepar\w*|compar\w*|weigh\w*|"

    r"i['\u2019]d(?!\s+(?:like|love|prefer|want|appreciate|be grateful))|"
    r"(?:someone|somebody|they|people|he|she|\w+ (?:colleague|boss|manager|team|lead|cto|ceo))\s+"
    r"(?:\w+\s+){0,2}?(?:suggest\w*|propos\w*|recommend\w*|said|says|think\w*|thought|wants?|wanted|will|"
    r"might|may|plans? to|intends? to|is going to|are going to)|explanation|understand\w*|mention\w*|"
    r"(?:someone|somebody) else|(?:other|another) (?:admin|user|operator|person))\b", re.I)
"""Words before an action verb that ask, imagine or plan rather than order."""

POLITE_RE = re.compile(
    r"^(?:(?:hey|hi|ok|okay|so|please|pls|kindly|now|then|and|also)\b[\s,]*)*"
    r"(?:(?:can|could|would|will) (?:you|u|ya)(?: please| kindly| just)?|would you mind|please|"
    r"i(?:'d| would) like you to|i (?:want|need) you to|go ahead and)\b", re.I)
"""A polite opening that still orders ("could you restart the sports pool?")."""

EXPLAIN_RE = re.compile(r"\b(?:explain\w*|describ\w*|what would it take|how (?:does|do|would|is|are|to)|teach\w*|"
                        r"(?:the )?steps (?:to|for)|instructions (?:to|for|on)|tutorial|guide me)\b", re.I)
_CLAUSE_END_RE = re.compile(r"[,;:\u2013\u2014]|[.!?]+(?=\s)|\s-+\s|\bbut\b", re.I)
_SPECIFIC_RE = re.compile(r"\b(?:task|job|run|workflow)\s*#?\d", re.I)


def check(request: str, commands: list[Command], ctx: dict[str, Any] | None = None) -> list[Command]:
    """``commands`` with every change that its words do not order turned read-only (``ctx``: what 'it' is)."""
    result = [_checked(request, c) for c in commands]
    if _unordered(request) and not _routed_content(request) and not CREATIVE_RE.match(request.strip()):
        result = _no_work_about_the_system(request, result, ctx or {})
    if any(c.intent != "submit" for c in result):  # "... and show me what it's doing" is no work for an agent
        result = [c for c in result if not _idle_work(c)] or result
    if any(_chatter(c, request) for c in result):  # "is that wise?", "how about 3?": no work for an agent
        result = [c for c in result if not _chatter(c, request)] or [
            referred(request, ctx or {}) or not_understood(request)]
    return _dedupe(result) if result != commands else commands


TAG_QUESTION_RE = re.compile(
    r"(?:^|[.,;!?]\s*|\s[-\u2013\u2014]+\s*|\s)(?:(?:is (?:that|this|it)|would (?:that|this|it) be|that'?s|thats|"
    r"sounds?)\s+)?(?:an?\s+)?(?:good|bad|wise|smart|safe|ok|okay|fine|sensible|reasonable)(?:\s+(?:idea|move|plan|call))?"
    r"\?\s*$|(?:^|[.,;!]\s*|\s)(?:right|yes or no|thoughts|agreed?|correct|makes sense|should (?:i|we)|"
    r"(?:do|would) you agree|what do you think|or not)\?\s*$|"
    r"(?:^|[.,;:!?]\s*|\s[-\u2013\u2014]+\s*|\s)(?:yes or no|thoughts|pros and cons|good idea or not)[.!]?\s*$|"
    r"\bor (?:keep|leave|not|wait|hold off|should (?:i|we))\b", re.I)
"""A closing question that asks whether the order before it is wise ("Cancel task 12. Good idea?", "..., right?")."""


def _checked(request: str, command: Command) -> Command:
    if not mood.changes(command) or "declined" in command.args or command.args.get("reason") == "no_such_choice":
        return command  # a question asked again changes nothing; only an affirmative answer to it will
    text = command.text or request
    reason = "question" if TAG_QUESTION_RE.search(request) else refusal(text, request)
    if reason is None and request.rstrip().endswith("?") and not POLITE_RE.match(request.strip()) and not (
            ACTION_VERB_RE.search(text) or ACTION_VERB_RE.search(request)):
        reason = "question"  # "same for sports?": a change carried over from the context, asked about
    if reason is None:
        return command
    if reason == "explain" and not _SPECIFIC_RE.search(text):
        topic = mood._topic(text)  # noqa: SLF001 - the same topic words as the clause rule
        if topic:
            return mood._declined(Command("help", {"topic": topic}, text), [command], "question")  # noqa: SLF001
    return mood._read_only(command, text, reason) or command  # noqa: SLF001


SYSTEM_CHANGE_RE = re.compile(
    r"\b(?:scal\w*|restart\w*|reboot\w*|cancel\w*|kill\w*|abort\w*|approv\w*|reject\w*|add\w*|remov\w*|"
    r"submit\w*|spin\w*|shrink\w*|run|runs|running|ran|trigger\w*|delet\w*|drop\w*|retr(?:y|ies|ying|ied)|rerun\w*|"
    r"bump\w*|creat\w*|build\w*|set(?:ting)? up|automat\w*|schedul\w*|launch\w*|execut\w*|kick\w* off|"
    r"doubl\w*|halv\w*|grow\w*|reduc\w*|increas\w*|decreas\w*)\b", re.I)
SYSTEM_OBJECT_RE = re.compile(r"\b(?:agents?|pools?|tasks?|jobs?|queue[ds]?|workflows?|runs|runs?\s*#?\d|sessions?|"
                              r"(?:the|a|this|that|its|their|workflow|failed|pending|last|next) runs?|operatoros)\b",
                              re.I)
"""Objects of the system ("run" as a noun: "when I run" is no workflow run)."""
LOG_OUT_RE = re.compile(r"\b(?:log(?:ging|ged|s)?|sign(?:ing|ed|s)?)\s*(?:me\s+)?(?:out|off)\b|\b(?:logout|signout)\b",
                        re.I)
SESSION_RE = re.compile(r"\b(?:sessions?|(?:new|this|our) (?:conversation|chat)|logged in|login|username|"
                        r"operatoros account|log(?:ging|ged|s)?\s*(?:me\s+)?in\s+as|"
                        r"switch\w*\s+(?:to\s+)?(?:user|account)|"
                        r"regist(?:er|ering|ered)\b(?!\s+(?:for|to|with|at|in|on|my|a|an|the|your|our|his|her|their)\b)|"
                        r"automat\w*)", re.I)
"""The user's own session and account: never work for an agent in a question about them."""
DATABASE_RE = re.compile(r"\b(?:database|db|back(?:ing|ed|s)?\s*up|backups?|restor\w*)\b", re.I)
AIMED_AT_IT_RE = re.compile(
    r"\b(?:scal\w*|restart\w*|reboot\w*|cancel\w*|kill\w*|abort\w*|approv\w*|reject\w*|retry\w*|rerun\w*|"
    r"delet\w*|remov\w*|run|running|drop\w*)\s+(?:it|them|that|this|those|everything|all|every\w*)\b", re.I)
"""A change aimed at 'it' or at everything: in a question, a change to what the session is looking at."""


CHATTER_WORDS = frozenset("""a an the of to for with and or but if then so too also again instead else just only
    is are was were be been being am do does did done doing have has had will would shall should can could may might
    must i me my we us our you your it its this that these those they them he she what which who whom why how when
    where whether there here one ones first second third fourth fifth last next other another same all any some
    more less many much few ok okay yes no not nope yeah yep sure fine good bad better worse best worst wise smart
    safe right wrong really actually maybe perhaps hmm wait well about like think thoughts idea mean means pick
    choose take go option number happen happens happened lose now later again please thanks thank""".split())
"""Words of conversation: a request made of nothing else describes no work."""


def _chatter(command: Command, request: str) -> bool:
    """A general submit whose words are only conversation and numbers ("what if I pick 2?", "do it again?")."""
    if command.intent != "submit" or command.args.get("pool") != "general" or _routed_content(request):
        return False
    text = str(command.args.get("input") or request)
    words = re.findall(r"[a-z]+", text.lower().replace("'", ""))
    if not (words and all(w in CHATTER_WORDS or len(w) == 1 for w in words)):
        return False
    from domains.calculator import is_arithmetic  # loaded only here: the CLI's start does without it

    return not is_arithmetic(text)  # "what is 15% of 80" is work for the calculator, not conversation


def _routed_content(request: str) -> bool:
    """Whether a request routes content to agents explicitly: the content may be a question of its own ("ask the
    finance agents: should I buy AAPL?"); a bare "submit a task to the general pool?" routes nothing and asks."""
    routed = any(p.match(request) for p in (QUOTED_TO_RE, ROUTE_RE, ASK_RE, SUBMIT_RE))
    if not routed or re.search(r"[:\"\u201c]", request):
        return routed
    return not (TAG_QUESTION_RE.search(request) or (SUBMIT_RE.match(request) and request.rstrip().endswith("?")))


def _idle_work(command: Command) -> bool:
    """A general submit about 'it' or the system beside a command: no work for an agent."""
    text = command.text or str(command.args.get("input", ""))
    return command.intent == "submit" and command.args.get("pool") == "general" and mood._idle(  # noqa: SLF001
        command, text, strict=True)


def _unordered(request: str) -> bool:
    """Whether a request holds a question, a negation, a hypothetical or a request for an explanation."""
    if (request.rstrip().endswith("?") and not POLITE_RE.match(request.strip())) or NEGATION_RE.search(request):
        return True
    if refusal(request, request) is not None:  # "I wonder if I should log out": the words before the verb ask
        return True
    return any(mood.mood_of(c) != "imperative" for c in mood.split_clauses(request))


def _about_the_system(text: str) -> bool:
    """Whether a text speaks of logging out, or of a change to the system's agents, pools, tasks or workflows."""
    from commands.domain import mask_worldly

    text = mask_worldly(text)  # "a sports agent", "my 401k pool": words of the world
    if LOG_OUT_RE.search(text) or SESSION_RE.search(text) or AIMED_AT_IT_RE.search(text):
        return True
    if DATABASE_RE.search(text) and re.search(r"\b(?:database|db)\b", text, re.I):
        return True
    change = SYSTEM_CHANGE_RE.search(text)
    if change and not _ARTEFACT_RE.search(text) and _names_a_pool(text[change.end():]):
        return True  # "rebooting general", "shrinking sports by 2"
    return bool(SYSTEM_OBJECT_RE.search(text) and (change or re.search(r"\b(?:agents?|pools?)\b", text, re.I)))


_POOL_OBJECT_RE = re.compile(r"^\s*(?:(?:up|down)\s+)?(?:the\s+)?(\w+)(?:\s+(?:pool|agents?|team))?"
                             r"(?=\s+(?:up|down|by|to|from)\b|\s*[,.;:?!]|\s*$|\s+\d)", re.I)


def _names_a_pool(text: str) -> bool:
    """Whether a change verb's object is a pool named alone ("rebooting general", "shrinking sports by 2")."""
    from commands.segment import find_pool

    match = _POOL_OBJECT_RE.match(text)
    return match is not None and find_pool(match.group(0)) is not None


def _no_work_about_the_system(request: str, commands: list[Command], ctx: dict[str, Any]) -> list[Command]:
    """A question or refusal about the system's own actions ("should I log out?", "I don't want my analysis task
    cancelled", "imagine the healthcare agents were down...") is no work for an agent: the look it asks for."""
    from commands.matcher import safety_concern  # a red flag always reaches the healthcare agents

    result: list[Command] = []
    others = any(c.intent != "submit" for c in commands)
    for command in commands:
        text = command.text or str(command.args.get("input", ""))
        about = _about_the_system(text) or _about_the_system(request) or _only_names_a_pool(request)
        pointed = referred(request, ctx) if command.intent == "submit" else None  # 'it' first: what was looked at
        if command.intent != "submit" or not (about or pointed) or safety_concern(request):
            result.append(command)
        elif not others:
            result.append(pointed or _look(request, refusal(request, request) or "question"))
    return result


def _only_names_a_pool(text: str) -> bool:
    """'would healthcare need the same?': a pool named, and no work described."""
    from commands.segment import segment

    seg = segment(_WORLDLY_POOL_RE.sub(" ", text), joined=False)
    return bool(seg.pools) and not seg.content_score


_WORLDLY_POOL_RE = re.compile(rf"\b(?:a|an|my|our|your|his|her|their)\s+(?:\w+\s+){{0,2}}?(?:{_POOL_NAMES})\b", re.I)
"""'a business', 'my small business': a thing of the world, not a pool."""



def _look(text: str, reason: str) -> Command:
    """The read-only answer to a question about the system that named no command."""
    from commands.segment import find_pool

    if LOG_OUT_RE.search(text):
        command = Command("whoami" if reason == "negation" else "help", {} if reason == "negation" else
                          {"topic": "account"}, text)
        return command
    if re.search(r"\b(?:database|db)\b", text, re.I):
        return Command("database", {"action": "status"}, text) if reason != "negation" else (
            Command("help", {"topic": "database"}, text))
    task = re.search(r"\b(?:task|job)\s*#?(\d{1,9})\b", text, re.I)
    if task:
        return Command("task", {"task_id": int(task.group(1))}, text)
    if SESSION_RE.search(text):
        return Command("whoami", {}, text) if reason == "negation" or re.search(
            r"\b(?:who|logged in as|username|account)\b", text, re.I) else Command("help", {"topic": "history"}, text)
    pool = find_pool(text)
    if re.search(r"\b(?:tasks?|jobs?|queue)\b", text, re.I):
        return Command("tasks", {"pool": pool} if pool else {}, text)
    if pool:
        return Command("pools", {"pool": pool}, text)
    topic = mood._topic(text)  # noqa: SLF001
    return Command("help", {"topic": topic} if topic else {}, text)


_LIGHT_VERBS = frozenset("make making get put take taking took bring bringing set setting".split())
AFTER_REFUSAL_RE = re.compile(
    r"^\s*(?:nothing|none|no \w+|zero \w+)\b|\b(?:is|are|was|'s)\s+(?:not|never)\b|\b(?:isn'?t|aren'?t|wasn'?t)\b|"
    r"\bnot (?:needed|necessary|required|wanted|what|a good idea|an option)\b|\bunnecessary\b|\bno longer\b|"
    r"\bnot (?:yet|now)\b", re.I)
"""Words after an action verb that refuse it."""
DOUBT_AFTER_RE = re.compile(r"\b(?:not sure|unsure|not certain|hesitant|second thoughts|undecided|by accident|"
                            r"accidentally|or not|or (?:should|shall) (?:i|we)|jk|j/k|just kidding|kidding|"
                            r"not really|in theory|theoretically|hypothetically|in principle|y/n|yes/no|maybe|perhaps|"
                            r"possibly|"

                            r"(?:after|once|when|until|unless|if|before) (?:i|we) (?:confirm|say|approve|give|tell|"
                            r"ok|okay|agree)\w*|(?:i|we)['\u2019]?ll confirm|(?:wait|waiting) for (?:my|our|a|the) "
                            r"(?:confirmation|go[- ]ahead|ok|okay|approval)|(?:if|when) (?:i|we) say so)\b", re.I)
"""Words after an action verb that doubt it ("restart sports, but I'm not sure"): a question, not an order."""
_SARCASM_RE = re.compile(r"(?:^|\s)/s\s*$|\(\s*(?:not really|jk|kidding|joking)\s*\)|"
                         r"\b(?:jk|j/k|just kidding|kidding|joking|lol jk)\W*$", re.I)
"""A closing mark of jest: '/s', '(not really)', '... jk'."""
DEFERRED_RE = re.compile(
    r"\b(?:later|tomorrow|tonight|next (?:week|month|time|weekend|\w+day)|"
    r"on (?:mon|tues|wednes|thurs|fri|satur|sun)day|this (?:afternoon|evening|weekend)|"
    r"(?:at|by|around) \d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|(?:at|by) \d{1,2}:\d{2}|at (?:noon|midnight)|"
    r"in (?:an?|\d+|a few|a couple of) (?:minutes?|mins?|hours?|days?|weeks?)|"
    r"(?:is|are|was|gets?) scheduled|some ?time|eventually|in a (?:bit|while)|at some point|"
    r"when (?:convenient|possible|you can|you get a chance)|as needed|if (?:needed|necessary|required|appropriate|"
    r"it makes sense|you think|warranted)|(?:when|whenever|once|as soon as|after|until|if|unless) (?:the|it|its|they|"
    r"their|there|all|everything|every|task|run|workflow|we|i|you)\b)\b", re.I)
"""Words after an action verb that put it off: not an order to do it now."""


_WRITE_UP_RE = re.compile(r"\b(?:runbook|playbook|checklist|procedure|script|how-to|guide|sop|document\w*)s?\s+"
                          r"(?:to|for|on|about)\s+(?:how to\s+)?$", re.I)
"""'write a runbook to restart X': the restart is what the document is about, not an order."""


def refusal(text: str, request: str) -> str | None:
    """Why the change in ``text`` (a piece of ``request``) is not ordered: negation, question, explain; or None."""
    if _SARCASM_RE.search(request):
        return "negation"  # "cancel task 12 /s": said in jest
    body = POLITE_RE.sub("", text.strip(), count=1)
    verbs = list(ACTION_VERB_RE.finditer(body))
    # "make sure you don't restart X": the verb of the change, not a light verb before it, decides
    verb = next((v for v in verbs if v.group(0).lower() not in _LIGHT_VERBS), verbs[0] if verbs else None)
    before = body[:verb.start()] if verb else body
    before = _CLAUSE_END_RE.split(before)[-1]  # "we don't need so many agents, drop it to 2" orders
    after = _CLAUSE_END_RE.split(body[verb.end():])[0] if verb else ""
    if AFTER_REFUSAL_RE.search(after):
        return "negation"  # "restarting is not what I want", "cancel nothing"
    if verb and re.match(r"\w+ing\b", verb.group(0)) and re.search(r"\b(?:would|could|might|will|may)\b", after, re.I):
        return "question"  # "any chance restarting the finance pool would help"
    if verb and DEFERRED_RE.search(after):
        return "question"  # "cancel task 6 later": not now
    if verb and DOUBT_AFTER_RE.search(body[verb.end():]):
        return "question"  # "I'd cancel task 12 but I'm not sure"
    if EXPLAIN_RE.search(before) or (verb and _WRITE_UP_RE.search(before)):
        return "explain"
    if NEGATION_RE.search(before) or (verb and re.match(r"\w+ing\b", verb.group(0), re.I)
                                       and re.search(r"\b(?:stop|quit|cease)\s*$", before, re.I)):
        return "negation"  # "stop restarting the agents" is no order to restart them
    if QUESTION_RE.search(before):
        return "question"
    asks_to_do = verb or re.match(r"^\s*(?:(?:ok(?:ay)?|and|so|now|then)\s+)*do\b", body, re.I)  # "do the same for X?"
    if asks_to_do and _ends_in_question(text, request) and not POLITE_RE.match(text.strip()):
        return "question"
    return None


def _ends_in_question(text: str, request: str) -> bool:
    """Whether the sentence holding ``text`` in ``request`` ends with a question mark ("..." ends none)."""
    start = request.find(text)
    rest = request[start:] if start >= 0 else text
    if re.search(r"\(\s*\?+\s*\)", rest):
        return True  # "cancel task 12 (?)"
    end = re.search(r"(?:[!?]+|(?<![.\u2026])\.(?![.\u2026]))(?=\s|$)", rest)
    return bool(end and "?" in end.group(0))


def _dedupe(commands: list[Command]) -> list[Command]:
    """Commands without repeats; a look that now stands twice keeps what was declined."""
    result: list[Command] = []
    for command in commands:
        plain = {k: v for k, v in command.args.items() if k != "declined"}
        same = next((c for c in result if c.intent == command.intent
                     and {k: v for k, v in c.args.items() if k != "declined"} == plain), None)
        if same is None:
            result.append(command)
        elif "declined" in command.args:
            same.args.setdefault("declined", command.args["declined"])
    return result
