"""Words for the demo conversation: communities, topics and Markdown post and comment
bodies with #topics and @mentions. Pure functions of a seeded `Random`, so the same
seed always writes the same network."""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

# fmt: off
# Data tables stay one idea per line; the formatter would give every string its own.

# (name, kind, visibility, description, archived)
NAMED_COMMUNITIES: tuple[tuple[str, str, str, str, bool], ...] = (
    ("Runners Club", "interest", "public", "Lunchtime 5k, weekend long runs and the odd marathon. All paces welcome.", False),
    ("Board Games", "interest", "public", "Thursday game nights in every office, and the eternal Catan debate.", False),
    ("Photography", "interest", "public", "Share your shots, swap gear tips, join the monthly theme challenge.", False),
    ("Parents at Northwind", "interest", "private", "Support, school-run logistics and advice from parents across offices.", False),
    ("Women in Tech", "interest", "public", "A community for women and allies in technical roles at Northwind.", False),
    ("Sustainability", "interest", "public", "Making Northwind greener: travel, offices, suppliers and ideas.", False),
    ("Python Guild", "learning", "public", "Python practices, library news, code review clinics and talks.", False),
    ("Data Science Reading Group", "learning", "public", "One paper every two weeks; we discuss it on Fridays.", False),
    ("New Joiners", "learning", "public", "Welcome! Ask anything about finding your way around Northwind.", False),
    ("Design Critique", "team", "public", "Bring work in progress; get kind, specific feedback.", False),
    ("Security Incident Response", "team", "secret", "Coordination for active security incidents. Need-to-know.", False),
    ("Leadership Team", "team", "secret", "The executive team's working space.", False),
    ("Project Atlas", "project", "private", "The new customer onboarding flow: plans, decisions and weekly updates.", False),
    ("Project Borealis", "project", "secret", "Confidential: evaluation of a strategic partnership.", False),
    ("Mobile App Beta", "project", "private", "Beta testers for the new mobile app: builds, bugs and feedback.", False),
    ("Berlin Office", "interest", "public", "Everything about life at our Berlin office.", False),
    ("London Office", "interest", "public", "Desk bookings, events and the best lunch spots near the office.", False),
    ("Summer Party 2026", "event", "public", "Planning, volunteers and photos from this year's summer party.", False),
    ("Sales Kick-off", "event", "private", "Agenda, travel and sessions for the annual sales kick-off.", False),
    ("Hackathon 2025", "event", "public", "Last year's hackathon: teams, demos and winners. Kept for the record.", True),
)

# Extra communities for large benchmark organisations: adjective + noun + kind.
GENERATED_WORDS = (
    "Aurora", "Beacon", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Indigo", "Juniper", "Kestrel",
    "Lumen", "Meridian", "Nimbus", "Orion", "Pioneer", "Quartz", "Raven", "Summit", "Tidal", "Umbra", "Vertex",
    "Willow", "Zephyr", "Atlas", "Boreal", "Comet", "Drift", "Echo", "Fjord",
)
GENERATED_SUFFIX = {
    "team": ("Squad", "Crew", "Working Group", "Team"),
    "project": ("Project", "Programme", "Initiative", "Migration"),
    "interest": ("Club", "Circle", "Society", "Fans"),
    "event": ("Summit", "Offsite", "Meetup", "Week"),
    "learning": ("Guild", "Academy", "Reading Group", "Study Club"),
}

TOPICS: tuple[str, ...] = (
    "release", "onboarding", "security", "hiring", "wellbeing", "OKRs", "customerwins", "accessibility", "remote",
    "learning", "townhall", "offsite", "data", "design", "python", "mobile", "incident", "kudos", "sustainability",
    "Q3planning", "roadmap", "benefits", "volunteering", "events", "product", "sales", "support", "AI", "privacy",
    "engineering", "culture", "diversity", "lunchandlearn", "hackathon", "feedback", "mentoring", "travel",
    "quarterlyresults", "launch", "retro", "interviewing", "docs", "performance", "ops", "finance", "legal",
    "newjoiners", "photography", "running", "boardgames",
)

HEADLINES = (
    "{project} is live", "What we learned from {project}", "{project}: this week's update",
    "Help wanted on {project}", "Retro notes: {project}", "Proposal: a better way to run {meeting}",
    "Reminder: {meeting} moves to {day}", "Welcome to the team!", "Quarter in review", "Small win worth sharing",
)
PROJECTS = (
    "the new onboarding flow", "Project Atlas", "the billing migration", "the design system", "search v2",
    "the mobile app beta", "our SOC 2 audit", "the Berlin office move", "the data warehouse", "single sign-on",
    "the support bot", "the customer portal", "the Q3 pricing test", "the hiring pipeline revamp",
)
MEETINGS = ("the all-hands", "sprint planning", "the design review", "our weekly sync", "the quarterly business review",
            "the lunch & learn", "the security briefing", "office hours")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
SENTENCES = (
    "We shipped it on time thanks to a lot of late-night testing.",
    "The numbers look better than we expected: error rates are down by a third.",
    "There is still work to do on the edge cases, and we'd love more eyes on it.",
    "Customers have been asking for this since last spring.",
    "The biggest surprise was how much simpler the second version turned out.",
    "If you hit a problem, reply here and we'll pick it up the same day.",
    "Huge thanks to everyone who volunteered for the pilot.",
    "The recording and slides are in the shared drive.",
    "We tried three approaches before settling on this one.",
    "Feedback so far has been overwhelmingly positive.",
    "Next step is rolling it out to the remaining regions.",
    "I'm curious how other teams handle this.",
    "This replaces the old spreadsheet, which many of you will not miss.",
    "Please read the summary before the meeting so we can spend the time on questions.",
    "It took longer than planned, mostly because of the data clean-up.",
    "The pilot group saved roughly two hours a week each.",
)
BULLETS = (
    "faster sign-in on mobile", "clearer error messages", "a dark mode, finally", "exports to CSV",
    "half the page weight", "better screen-reader labels", "one place for all the docs", "fewer meetings",
    "weekly office hours", "an on-call rota that is actually fair", "automatic reminders", "search that finds things",
)
QUESTIONS = (
    "Does anyone have a good template for a project kick-off", "Who owns the travel policy these days",
    "What's the best way to book the big meeting room in {office}", "Any recommendations for a good Python course",
    "Is there a standard way to request a second monitor", "How do other teams write their release notes",
    "Has anyone used the new expenses tool yet", "Who can help me with a tricky SQL query",
    "Which podcast should I listen to on my commute", "What is everyone reading this month",
)
OFFICES = ("London", "New York", "Berlin", "Toronto", "Bengaluru", "Singapore", "Sydney", "Nairobi", "Copenhagen")
CELEBRATIONS = (
    "Please join me in welcoming @{h1} to the team! 🎉 They join us from {office} and will be working on {project}.",
    "Big congratulations to @{h1} and @{h2} for closing the biggest deal of the quarter. 🚀",
    "Shout-out to @{h1} for stepping in during last night's incident and getting everyone back online by 2 am.",
    "Five years at Northwind today for @{h1}. Thank you for everything! 🎂",
)
LINKS = (
    ("the release notes", "https://wiki.northwind.example/releases"),
    ("the handbook", "https://handbook.northwind.example/"),
    ("this article", "https://www.example.com/blog/remote-work"),
    ("the survey", "https://forms.northwind.example/pulse"),
)
COMMENTS = (
    "Great work, this is a big improvement!", "Thanks for sharing.", "+1, we saw the same thing on our side.",
    "Is there a recording for those of us in other time zones?", "Love this. 🙌", "Congratulations!",
    "Could you share the slides?", "This is really helpful, bookmarking it.", "Count me in.",
    "How does this affect the rollout in {office}?", "Well deserved!", "Interesting – what was the trade-off?",
    "We should do this more often.", "Happy to help test it.", "Welcome aboard! 👋",
    "Do you have numbers from before the change?", "Finally! 😄", "I had the same question.",
    "**Yes** – and the docs are up to date too.", "Nice one. Any plans for the mobile app?",
)
REPLIES = (
    "Good question, I'll check and come back to you.", "Yes, it's in the shared drive under Recordings.",
    "Thanks!", "Agreed.", "Not yet, it's planned for next quarter.", "I'll add it to the FAQ.",
    "Exactly my thought.", "@{h1} knows more about this than I do.",
)
# fmt: on


@dataclass(frozen=True)
class Text:
    """A composed body and what it refers to (so mentions and topics need no parsing)."""

    body: str
    topics: tuple[str, ...]
    mentions: tuple[str, ...]  # email local parts


def _pick(rng: Random, items: tuple[str, ...]) -> str:
    return items[rng.randrange(len(items))]


def _fill(template: str, rng: Random, handles: list[str]) -> tuple[str, tuple[str, ...]]:
    chosen: list[str] = []
    values = {
        "project": _pick(rng, PROJECTS),
        "meeting": _pick(rng, MEETINGS),
        "day": _pick(rng, DAYS),
        "office": _pick(rng, OFFICES),
    }
    for slot in ("h1", "h2"):
        if "{" + slot + "}" in template:
            handle = handles[rng.randrange(len(handles))]
            chosen.append(handle)
            values[slot] = handle
    return template.format(**values), tuple(dict.fromkeys(chosen))


def compose_post(rng: Random, *, handles: list[str], topics: list[str], topic_weights: list[float]) -> Text:
    """A post body in Markdown: an update, a question, a celebration or a reminder."""
    shape = rng.random()
    mentions: tuple[str, ...] = ()
    if shape < 0.4:
        headline, _ = _fill(_pick(rng, HEADLINES), rng, handles)
        lines = [f"**{headline[0].upper()}{headline[1:]}**", "", " ".join(rng.sample(SENTENCES, k=rng.randint(1, 3)))]
        if rng.random() < 0.5:
            lines += ["", *(f"- {b}" for b in rng.sample(BULLETS, k=rng.randint(2, 4)))]
        if rng.random() < 0.3:
            label, url = LINKS[rng.randrange(len(LINKS))]
            lines += ["", f"More in [{label}]({url})."]
        body = "\n".join(lines)
    elif shape < 0.65:
        question, _ = _fill(_pick(rng, QUESTIONS), rng, handles)
        body = f"{question}? {_pick(rng, SENTENCES)}"
    elif shape < 0.8:
        body, mentions = _fill(_pick(rng, CELEBRATIONS), rng, handles)
    else:
        sentence, _ = _fill("Reminder: {meeting} is on {day} at 15:00 in the {office} office and online.", rng, handles)
        body = f"{sentence} {_pick(rng, SENTENCES)}"
    if not mentions and rng.random() < 0.15:
        handle = handles[rng.randrange(len(handles))]
        mentions = (handle,)
        body += f" cc @{handle}"
    chosen: tuple[str, ...] = ()
    if rng.random() < 0.45:
        chosen = tuple(dict.fromkeys(rng.choices(topics, weights=topic_weights, k=rng.randint(1, 3))))
        body += "\n\n" + " ".join(f"#{t}" for t in chosen)
    return Text(body, chosen, mentions)


def compose_comment(rng: Random, *, handles: list[str], reply: bool = False) -> Text:
    template = _pick(rng, REPLIES if reply else COMMENTS)
    body, mentions = _fill(template, rng, handles)
    return Text(body, (), mentions)


def community_names(count: int, rng: Random) -> list[tuple[str, str, str, str, bool]]:
    """The named communities first, then generated ones (kind and visibility skewed
    like a real organisation: mostly public, some private, a few secret)."""
    result = list(NAMED_COMMUNITIES[:count])
    kinds = tuple(GENERATED_SUFFIX)
    seen = {name for name, *_ in result}
    n = 0
    while len(result) < count:
        n += 1
        kind = rng.choices(kinds, weights=(4, 3, 3, 1, 2))[0]
        name = f"{_pick(rng, GENERATED_WORDS)} {_pick(rng, GENERATED_SUFFIX[kind])}"
        if name in seen:
            name = f"{name} {n}"
        seen.add(name)
        visibility = rng.choices(("public", "private", "secret"), weights=(70, 20, 10))[0]
        archived = rng.random() < 0.02
        result.append((name, kind, visibility, f"The {name} community.", archived))
    return result


def topic_names(count: int) -> list[str]:
    names = list(TOPICS[:count])
    n = 0
    while len(names) < count:
        names.append(f"{TOPICS[n % len(TOPICS)]}{2020 + n // len(TOPICS)}")
        n += 1
    return names
