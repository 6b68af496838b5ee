"""Routing: the one vocabulary that points a request at a pool, route_pool, and decide (the pool and
the safety decision of a task, made once when it is submitted).

The command parser (commands.segment) scores its typo-corrected tokens with content_scores and
count_tickers; route_pool scores a request's plain words with the same functions. A medical red flag
or a mention of self-harm routes to healthcare whatever pool was picked (the safety decision says so).
"""
from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace

from safety import policies as safety
from values import DEFAULT_POOL, POOL_NAMES, parse_pool

SLATE_GAME_WEIGHT = 2
"""Score a game of a betting slate ('Lakers -150 vs Celtics +130') adds to sports."""

TICKER_WEIGHT = 3
"""Score each ticker ('AAPL', '$IBM') adds to financial."""

TOKEN_RE = re.compile(r"[^\W_]+")
"""A word of a request."""


MIN_TOPIC_SCORE = 2
"""Score a specialised pool needs before a request leaves the general pool: one strong word, or two weak
ones ("1 cup sugar" is no sports request: a single ambiguous word does not decide)."""



def _family(word: str) -> tuple[str, ...]:
    """A word and its plural: vocabulary is listed by word family, so 'bond' also finds 'bonds'."""
    if word.endswith(("s", "x", "z")) or not word.isalpha() or len(word) < 3:
        return (word,)
    if word.endswith(("ch", "sh")):
        return word, word + "es"
    if word.endswith("y") and word[-2] not in "aeiou":
        return word, word[:-1] + "ies"
    return word, word + "s"


def _weighted(strong: str, weak: str) -> dict[str, int]:
    words = dict.fromkeys((f for w in weak.split() for f in _family(w)), 1)
    words.update(dict.fromkeys((f for w in strong.split() for f in _family(w)), 2))
    return words


DOMAIN_WORDS: dict[str, dict[str, int]] = {
    "healthcare": _weighted(
        strong="""
        nurse nursing physiotherapy physio chiropractor cardiologist dermatologist pediatrician psychiatrist
        psychologist gp obgyn pharmacist pharmacy prescribed prescribing antidepressant antidepressants ssri
        statin statins metformin antihistamine inhaler steroid steroids opioid opioids painkiller
        painkillers vaccinated vaccines booster measles mumps rubella shingles hepatitis hiv std sti
        pneumonia bronchitis sinus sinusitis strep tonsillitis arthritis osteoporosis anemia anaemia thyroid
        hypertension hypotension arrhythmia palpitations cholesterol ldl hdl glucose a1c dementia alzheimers
        parkinsons epilepsy seizure seizures concussion tendonitis tendinitis sciatica hernia ulcer acne
        eczema psoriasis dehydration dehydrated hydration fatigue fatigued exhaustion insomnia apnea snoring
        migraine caffeine addiction rehab rehabilitation physiotherapist symptoms syndrome chronic acute
        inflammation inflamed immune immunity antibody antibodies protein fiber fibre iron calcium magnesium
        zinc omega probiotic probiotics cardio stretching stretches posture spine spinal lumbar stiffness
        cramps cramp menopause fertility ovulation contraception contraceptive prenatal postpartum
        breastfeeding newborn toddler checkup mammogram colonoscopy biopsy xray mri ultrasound stethoscope
        thermometer pulse bpm oxygen lungs lung kidney kidneys liver bladder bowel gut digestion digestive
        heartburn reflux bloating mole moles stitches sutures allergic anaphylaxis epipen hives sunburn
        frostbite hypothermia heatstroke concussed diarrhoea nosebleed wellness wellbeing meditation
        mindfulness ptsd adhd autism bipolar ocd grief counseling counselling calorie carbs carb keto
        fasting sodium hygiene symptom pain painful ache aches headache headaches migraines fever cough
        coughing sore throat diagnosis diagnose diagnosed medication medications medicine medicines drug
        drugs dose dosage ibuprofen aspirin paracetamol acetaminophen tylenol antibiotic antibiotics
        prescription doctor doctors physician hospital clinic patient patients disease illness infection
        virus flu covid allergy allergies asthma diabetes diabetic insulin blood cardiac stroke cancer tumor
        chest breath breathing breathless dizzy dizziness nausea vomiting vomit rash injury injured sprain
        sprained ankle fracture surgery therapy therapist mental anxiety anxious depression depressed
        vaccine vaccination pregnant pregnancy diet nutrition calories vitamin vitamins supplement
        supplements obesity bmi smoking wound bleeding emergency ambulance burn burns knee knees shoulder
        elbow wrist hip neck stomach hurts hurt hurting swollen swelling bruise lump itchy itching diarrhea
        constipation period menstrual pediatric poison poisoning overdose suicide suicidal sick treatment
        treat cure remedy dentist dental pill pills medical clinical healthcare cheek sleep waking ill
        nauseous bleed breathe injuries wounds
        hamstring hamstrings quad quads calf tendon tendons ligament ligaments acl rotator burnout hiit injuring
        injure runny knuckle knuckles phobia phobias""",
        weak="""
        tired water sleep sleeping energy body muscle muscles joint joints bone bones teeth tooth eyes
        resting workout habit habits stretch drink drinking walking diet pressure
        weight alcohol stress skin eye test pounds kg lose benefits exercises worried safe safely gut"""),
    "financial": _weighted(
        strong="""
        stockmarket housing microsoft tesla nvidia netflix alphabet equity securities broker brokers
        brokerage fiduciary advisor invested investors
        shareholder shareholders stockholder dividend yield yields maturity treasuries tbill
        tbills munis municipal 403b hsa 529 pension pensions annuity superannuation compound compounding apy
        averaging  bull bear bullish bearish rally selloff ipo ipos spac buyback buybacks marketcap
        earnings eps ebitda fundamentals valuation overvalued undervalued dcf analyst analysts sector
        sectors reit reits etf mutual vanguard fidelity schwab robinhood blackrock berkshire nasdaq nyse
        ftse nikkei dax stoxx russell futures derivatives leveraged shorting hedging forex fx currency
        currencies peso rupee yuan franc crypto altcoin altcoins solana dogecoin stablecoin blockchain defi
        mortgage mortgages refinancing heloc escrow downpayment fico lender lenders lending borrower
        borrowing payday apr amortization budgeting saving savings paycheck salary income deductions
        deduction irs taxable w2 1099 freelancer accountant cpa inflationary deflation gdp cpi unemployment
        fomc powell recessionary economy economic economics fiscal monetary bank banks banking fintech
        costco walmart pepsico cocacola netflix jpmorgan goldman morgan mastercard paypal intel stock stocks
        equities invest investing investment investments investor portfolio trading trader cryptocurrency
        bitcoin btc ethereum etfs bond bonds dividends dow refinance loan loans debt retirement 401k 401 ira
        roth financial finance gold silver commodities hedge wealth inflation sp500 shares ticker tickers
        funds index taxes fed spending expenses recession stimulus annuities treasury usd eur gbp dollars
        euros yen aapl msft tsla nvda amzn goog googl nflx qqq voo vti jpm pypl pltr baba volatility
        volatile sharpe drawdown drawdowns rsi rebalance rebalancing allocation allocations portfolios
        accounting accountancy accrual accruals depreciation ledger ledgers reconcile reconciliation gaap ifrs
        overdraft euro dollar sterling currency insurance insurer premiums annuity retiree retire deductible
        deductibles""",
        weak="""
        money cash price prices afford loan rate rates growth return returns pay payment payments payoff
        bill bills spend bonus inheritance millionaire rich wealthy cheap expensive ratio outperform
        underperform quarter sector market markets fund yield tax buy sell apple microsoft tesla amazon
        google alphabet nvidia netflix credit bank save outlook profit
        commission commissions personal household rent budget budgets retired"""),
    "sports": _weighted(
        strong="""
        sportsbook sportsbooks oddsmaker sportsbetting parlays teaser teasers prop props handicapper
        underdogs favourite favourites favorites ats totals moneylines spreads rookie rookies veteran
        standings league leagues playoff postseason preseason offseason halftime overtime inning innings
        bullpen pitchers pitching batting batter hitter homer homerun strikeout rbi quarterbacks qb receiver
        receivers linebacker touchdowns rushing yards fumble interception interceptions punter kicker
        offside offsides referee referees umpire var goalie goalies goalkeepers shutout striker strikers
        midfielder midfielders defender defenders winger dunk dunks rebound rebounds assists nba wnba nfl
        nhl mlb mls epl laliga bundesliga seriea ligue uefa fifa ncaa fantasy wimbledon atp wta pga ryder
        nascar motogp cycling triathlon sprinter olympian olympic paralympic medal medals boxer boxers
        fighter fighters knockout ufc wrestling wrestlemania racing derby jockey tottenham spurs manchester
        mancity arsenal everton newcastle psg milan ajax dortmund bucks mavericks nuggets clippers raptors
        sixers 76ers ravens steelers broncos seahawks bengals browns texans vikings mets cubs astros braves
        phillies mariners orioles bruins canadiens leafs oilers penguins flyers blackhawks durant giannis
        jokic mahomes brady kane haaland mbappe salah djokovic nadal federer alcaraz serena mcilroy
        verstappen scorer scorers scoring sports sport betting bet bets wager parlay moneyline bookmaker
        gambling lineup roster odds f1 playoffs tournament championship football soccer basketball baseball
        hockey tennis golf cricket rugby boxing mma marathon athlete athletes quarterback pitcher
        goalkeeper touchdown coach lakers celtics warriors knicks yankees dodgers chiefs patriots cowboys
        packers 49ers liverpool chelsea barcelona madrid bayern juventus lebron messi ronaldo olympics
        underdog spread bettor bettors wagers bookie bookies kelly bankroll handicap fixture fixtures""",
        weak="""
        game games match matches team teams player players season score scores final finals win wins winning
        record title titles champion champions stadium fans coach coaches points rating ratings ranked
        ranking rankings pick picks predict prediction week weekend tonight derby race races cup training
        fitness defense offense favoured favored favorite premier tonights sunday injury"""),
    "business": _weighted(
        strong="""
        businesses entrepreneur entrepreneurs entrepreneurship smallbusiness smb llc incorporate
        incorporation founder founders cofounder startup pitchdeck fundraising venture vc runway cac ltv
        churn retention upsell upselling funnel funnels conversion conversions seo sem ppc adwords instagram
        tiktok linkedin influencer influencers copywriting tagline slogan logo rebrand publicity advertising
        advert adverts ads ad promotion promotions promo discount discounts coupon loyalty
        subscriptions subscribers retail retailer retailers wholesale wholesaler supplier suppliers sourcing
        merchandise merchandising storefront etsy shopify dropshipping fulfillment fulfilment shipping
        warehouse warehousing orders backorder franchise franchising franchisee boutique salon cafe bakery
        studio consultancy consulting consultant freelance agency agencies onboard offboarding recruiter
        recruiters recruitment candidate candidates interview interviews interviewing cv headcount workforce
        employer employers employees morale workplace layoffs layoff severance compensation pto appraisal
        appraisals leadership executive executives ceo cfo coo cto memo memos sop sops policy policies
        handbook compliance gdpr legal lawsuit liability permit permits license licensing trademark invoice
        receivable payable quickbooks xero erp salesforce hubspot zendesk jira asana trello slack okr kpi
        milestone milestones deliverable deliverables gantt scrum agile kanban gtm positioning persona
        personas segmentation swot pestle benchmarking partnership partnerships negotiation negotiate
        negotiating rfp quotation profitability breakeven p&l overhead cashflow bookkeeping refund refunds
        complaint complaints nps csat callcentre chatbot outsourcing representative representatives
        salesperson salespeople quota quotas pipeline prospects prospecting outreach networking conference
        expo business automation marketing sales customer customers client clients crm leads onboarding
        hiring hire hires recruiting recruit hr employee staff meeting meetings agenda offsite newsletter
        campaign brand branding startups competitor competitors competitive kpis okrs roadmap revenue
        pricing invoices invoicing payroll inventory logistics vendor vendors procurement contract contracts
        proposal stakeholder stakeholders escalation saas b2b ecommerce restaurant project projects
        operations ops management manager managers managing automate automated automating ticket tickets
        helpdesk schedule scheduling
        bookkeeper bookkeepers retrospective retrospectives standup standups production manufacturing
        realtor realtors turnover""",
        weak="""
        company companies firm firms corporate office store stores shop shops product products service
        services brand plan plans growth grow growing market customers price pricing team staff process
        manager leadership meeting quarterly annual launch launching checklist policy email
        emails support strategy cost costs forecast website pitch deck presentation job description q1 q2 q3
        q4 truck coffee weekly processes processing subscription sprint script practices planner"""),
    "general": _weighted(
        strong="""
        recipe cook cooking bake baking baked oven flour butter tablespoon teaspoon tbsp tsp ingredient
        dinner lunch breakfast soup salad pasta bread cake cookie pancake chili vegetarian vegan dessert
        snack sauce boil boiled fry grill roast lasagna pizza sandwich smoothie cocktail wine beer
        itinerary vacation passport hotel airport sightseeing tourist museum beach
        poem poetry haiku limerick sonnet novel author wrote movie film song lyrics painting
        photosynthesis planet solar astronomy telescope galaxy physics chemistry biology geology dinosaur
        volcano earthquake ocean continent translate translation spanish french japanese german
        italian chinese grammar synonym spelling carpet laundry stain garden gardening houseplant dog cat
        puppy kitten pet router wifi laptop printer iphone android javascript regex trivia riddle joke
        octopus weather
        membership memberships unsubscribe landlord tenant neighbour neighbor heater boiler plumber netflix
        spotify hulu eulogy essay magazine magazines newspaper""",
        weak="""
        capital birthday wedding gift cup egg milk sugar meal food trip travel holiday flight city country
        book story music fact
        science python function fun family game letter letters writing"""),
}
"""Words that point a domain request at a pool, with a weight (2 strong, 1 weak), listed by word family (_family
adds the plural). The general pool's words (recipes, travel, trivia) keep a request there against one stray
word."""

DOMAIN_PHRASES: dict[str, dict[str, int]] = {
    "healthcare": {"side effects": 3, "chest pain": 3, "short of breath": 3, "blood pressure": 3,
                   "blood test": 3, "sore throat": 3, "back pain": 3, "mental health": 3, "type 2": 1,
                   "the er": 3, "deep cut": 3, "first aid": 3, "emergency room": 3, "lose weight": 3,
                   "weight loss": 3, "green tea": 1,
                   "health care": 3, "sugar free": 3, "heart rate": 3, "blood sugar": 3, "physical therapy": 3,
                   "flu shot": 3, "sleep hygiene": 3, "high in iron": 2,
                   "strength training": 3, "bone density": 3, "couch to 5k": 3, "runny nose": 3, "stuffy nose": 3,
                   "blocked nose": 3, "common cold": 3, "head cold": 3, "have a cold": 3, "got a cold": 3,
                   "catch a cold": 3, "panic attack": 3, "cold and flu": 3, "cold or flu": 3, "cold sore": 3},
    "financial": {"p e": 3, "interest rate": 3, "interest rates": 3, "cash flow": 2, "s p": 3,
                  "index funds": 3, "share price": 3, "stock market": 3, "balance sheet": 3,
                  "federal reserve": 3, "rate decision": 3, "moving average": 3,
                  "moving averages": 3, "price history": 3,
                  "sell off": 3, "short selling": 3, "credit score": 3, "student loan": 3,
                  "student loans": 3, "emergency fund": 3, "jobs report": 3, "rate hike": 3, "stock split": 3,
                  "capital gains": 3, "mutual fund": 3, "mutual funds": 3, "money market": 3, "high yield": 3,
                  "compound interest": 3, "net worth": 3, "market cap": 3, "dollar cost averaging": 3,
                  "estimated taxes": 3, "monthly budget": 3, "household budget": 3,
                  "family budget": 3, "personal budget": 3, "zero based budget": 3, "take home pay": 3,
                  "to budget": 3, "me budget": 3, "i budget": 3, "we budget": 3, "50 30 20": 3,
                  "savings account": 3, "emergency savings": 3, "bank account": 3, "checking account": 3,
                  "bank statement": 3, "income statement": 3, "cash accounting": 3, "double entry": 3,
                  "personal accounts": 3, "life insurance": 3, "insurance policy": 3, "tax return": 3, "tax refund": 3,
                  "credit card": 3, "debit card": 3,
                  "direct debit": 3, "standing order": 3,
                  "split rent": 3, "split the rent": 3, "split the bill": 3,
                  "exchange rate": 3, "income tax": 3, "sales tax": 2,
                  "pay down": 2},
    "sports": {"premier league": 3, "champions league": 3, "world cup": 3, "super bowl": 3, "red sox": 3,
               "real madrid": 3, "half marathon": 3, "over under": 3, "point spread": 3,
               "free agent": 3, "trade deadline": 3, "regular season": 3, "field goal": 3, "hat trick": 3,
               "three pointer": 3, "free throw": 3, "triple double": 3, "march madness": 3, "grand slam": 3,
               "grand prix": 3, "tour de france": 3, "horse racing": 3, "world series": 3, "stanley cup": 3,
               "fantasy football": 3, "salary cap": 3, "home run": 3, "running back": 3,
               "save percentage": 3, "career stats": 3, "player stats": 3,
               "season stats": 3, "box score": 3, "formula 1": 3, "formula one": 3},
    "business": {"project management": 3, "business plan": 3, "market research": 3, "supply chain": 3,
                 "job description": 3, "cost cuts": 3, "job interview": 3, "team building": 3,
                 "customer support": 3, "follow up": 1, "purchase order": 3, "new hire": 3,
                 "investor pitch": 3, "seed round": 3, "burn rate": 3, "unit economics": 3, "cross sell": 3,
                 "social media": 3, "content marketing": 3, "amazon seller": 3, "gym owner": 3, "client onboarding": 3,
                 "hiring manager": 3, "employee engagement": 3, "remote work": 3, "benefits package": 3,
                 "performance review": 3, "team lead": 3, "accounts receivable": 3, "sprint planning": 3,
                 "product manager": 3, "go to market": 3, "pricing strategy": 3, "break even": 3, "returns policy": 3,
                 "refund policy": 3, "customer service": 3, "call center": 3, "cold call": 3, "cold email": 3,
                 "trade show": 3, "small business": 3, "job posting": 3, "product line": 3, "online store": 3,
                 "subscription box": 3, "profit and loss": 3,
                 "cold calling": 3, "expense report": 3, "expense policy": 3, "sprint retrospective": 3,
                 "daily standup": 3, "real estate office": 3, "real estate agency": 3, "employee turnover": 3},
    "general": {"board game": 3, "wi fi": 3, "fun fact": 3, "solar system": 3, "cast iron": 3,
                "cancel my": 1, "my subscription": 2, "cover letter": 3, "personal statement": 3, "thank you note": 3,
                "wedding speech": 3, "best man speech": 3},
}
"""Phrases that point a domain request at a pool, with a weight."""

TICKERS_UPPER = frozenset("""
    USD EUR GBP JPY CHF CAD AUD CNY INR AMD IBM SPY META DIS KO XOM INTC ORCL BAC WMT NKE UBER COIN CVX
    PFE JNJ SHOP SQ ARKK BRK""".split())
"""Tickers and currency codes that count only in capitals (AMD, SHOP) or with a $ in front."""

TICKER_RE = re.compile(r"\$[A-Za-z]{1,5}\b|\b[A-Z]{2,5}\b")



def content_scores(tokens: list[str], text: str, skip: Collection[int] = ()) -> dict[str, int]:
    """Domain scores of a request's words (DOMAIN_WORDS) and phrases (DOMAIN_PHRASES).

    Args:
        tokens: the request's words, lower case.
        text: the same words joined by single spaces, with a space at each end.
        skip: positions of tokens that do not count (the words naming a pool in a command).
    """
    scores: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if i in skip:
            continue
        weights = _WORD_WEIGHTS.get(token)
        if weights is None and token.endswith("s"):  # "bakery's" was made "bakerys": the word is "bakery"
            weights = _WORD_WEIGHTS.get(token[:-1])
        for pool, weight in weights or ():
            scores[pool] = scores.get(pool, 0) + weight
    for first in set(tokens) & _PHRASES_BY_FIRST.keys():
        for pool, phrase, weight in _PHRASES_BY_FIRST[first]:
            if f" {phrase} " in text:
                scores[pool] = scores.get(pool, 0) + weight
    return scores


_WORD_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {}
"""DOMAIN_WORDS turned round: word -> (pool, weight) of each pool that knows it (one lookup per word)."""
for _pool, _words in DOMAIN_WORDS.items():
    for _word, _weight in _words.items():
        _WORD_WEIGHTS[_word] = (*_WORD_WEIGHTS.get(_word, ()), (_pool, _weight))

_PHRASES_BY_FIRST: dict[str, list[tuple[str, str, int]]] = {}
"""DOMAIN_PHRASES by their first word: a phrase can only be in a text that holds its first word."""
for _pool, _phrases in DOMAIN_PHRASES.items():
    for _phrase, _weight in _phrases.items():
        _head, _, _last = _phrase.rpartition(" ")
        for _form in dict.fromkeys(f"{_head} {f}".strip() for f in _family(_last)):  # 'performance reviews' too
            if _form == _phrase or _form not in _phrases:
                _PHRASES_BY_FIRST.setdefault(_form.split()[0], []).append((_pool, _form, _weight))


_CSV_NAME = re.compile(r"\S\.csv\b", re.I)


def count_tickers(text: str) -> int:
    """How many tickers a text names: '$X', TICKERS_UPPER in capitals, or a financial word in capitals;
    a named CSV file counts as one (price data to analyse: 'analyze xyz.csv')."""
    count = 0
    for match in TICKER_RE.finditer(text):
        word = match.group()
        if word.startswith("$") or word in TICKERS_UPPER or word.lower() in DOMAIN_WORDS["financial"]:
            count += 1
    return count + len(_CSV_NAME.findall(text))


def topic(text: str) -> str:
    """The pool a request is about by its words alone (DEFAULT_POOL when none fits)."""
    tokens = TOKEN_RE.findall(text.lower().replace("'", "").replace("\u2019", ""))
    scores = content_scores(tokens, " " + " ".join(tokens) + " ")
    tickers = count_tickers(text)
    if tickers:
        scores["financial"] = scores.get("financial", 0) + TICKER_WEIGHT * tickers
    if any(map(str.isdigit, text)):
        from domains import sports_odds  # only a text with numbers can hold a slate of odds

        games = sum(1 for g in sports_odds.parse_slate(text) if len(g.outcomes) >= 2)
        if games:
            scores["sports"] = scores.get("sports", 0) + SLATE_GAME_WEIGHT * games
    return best_pool(scores) or DEFAULT_POOL


def best_pool(scores: dict[str, int]) -> str | None:
    """The specialised pool a request's scores point at, or None (the general pool) when the best has less
    than MIN_TOPIC_SCORE or less than the general vocabulary's score; ties go to the first in POOL_NAMES."""
    best, best_score = None, 0
    for name in POOL_NAMES:
        if name != DEFAULT_POOL and scores.get(name, 0) > best_score:
            best, best_score = name, scores[name]
    if best_score < MIN_TOPIC_SCORE or best_score < scores.get(DEFAULT_POOL, 0):
        return None
    return best


def route_pool(text: str, pool: str | None = None, *, decision: safety.SafetyDecision | None = None) -> str:
    """The pool a request belongs to: `pool` when given, else by its words (DEFAULT_POOL when none fits).

    A medical red flag or a mention of self-harm always routes to healthcare, whatever pool was
    picked ("my AAPL shares crashed and now I have chest pain and I'm sweating").

    Args:
        text: the request.
        pool: the pool a caller picked (the command processor, an API client), or None.
        decision: the request's safety decision when already made (else the policies read the text).

    Raises:
        UnknownPool: `pool` is not one of POOL_NAMES.
    """
    return decide(text, pool, decision=decision).pool


def decide(text: str, pool: str | None = None, *, keep_pool: bool = False,
           decision: safety.SafetyDecision | None = None) -> safety.SafetyDecision:
    """A task's pool and safety decision, made once when it is submitted and kept with it.

    1. The request policies read the text once (red flags, self-harm, problem gambling, injection).
    2. The topic: the pool the words are about, whatever pool was picked.
    3. The pool: healthcare for a red flag or self-harm (unless `keep_pool`), else the picked
       pool, else the topic.

    Args:
        text: the request.
        pool: the pool a caller picked, or None.
        keep_pool: keep a picked pool even for a red flag (the workflow engine's business drafts).
        decision: an earlier decision on the same text (its flags are reused; nothing is assessed).

    Raises:
        UnknownPool: `pool` is not one of POOL_NAMES.
    """
    if pool is not None:
        pool = parse_pool(pool)
    if decision is None:
        decision = safety.assess_request(pool or DEFAULT_POOL, text)
    about = "healthcare" if decision.needs_healthcare else topic(text)
    if pool is None:
        pool = about
    elif decision.needs_healthcare and not keep_pool:
        pool = "healthcare"
    return replace(decision, pool=pool, topic=about)
