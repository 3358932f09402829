"""The vocabulary and sentence templates of each review domain, and of the hard cases.

Each domain has its own vocabulary, templates and length profile, so mixing domains is a
realistic covariate shift for an embedding model trained on one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

LABELS: tuple[str, str] = ("negative", "positive")


def _split(words: str) -> tuple[str, ...]:
    # Vocabulary is written as "a|b|c" so the lists stay readable instead of one entry per line.
    return tuple(word.strip() for word in words.split("|"))


@dataclass(frozen=True)
class DomainSpec:
    """Vocabulary and templates of one domain; templates use ``{field}`` placeholders."""

    be: str  # "is" for products used now, "was" for experiences told afterwards
    neutral: Mapping[str, tuple[str, ...]]
    positive: Mapping[str, tuple[str, ...]]
    negative: Mapping[str, tuple[str, ...]]
    templates: tuple[str, ...]


_ELECTRONICS = DomainSpec(
    be="is",
    neutral={
        "item": _split(
            "phone|headset|charger|laptop|tablet|smartwatch|power bank|bluetooth speaker"
            "|pair of earbuds|keyboard|mouse|webcam|router|monitor|USB-C cable|fitness tracker"
            "|e-reader|gaming controller"
        ),
        "aspect": _split(
            "battery life|sound quality|build quality|screen|charging speed|microphone"
            "|bluetooth connection|camera|touch response|setup process|companion app"
            "|noise cancelling|fit|cable|firmware|speaker volume|standby time|charging port"
        ),
        "intens": _split("ridiculously|insanely|seriously|remarkably|surprisingly|really|"),
        "context": _split(
            "bought this for my commute|got this as a birthday gift|I use it every day for work"
            "|ordered it after my old one broke|picked this up on sale"
            "|needed a replacement for travel|my kids use it for school"
            "|upgraded from an older model"
        ),
        "duration": _split("two weeks|a month|three months|half a year|a full year|a few days"),
    },
    positive={
        "adj": _split(
            "excellent|reliable|fantastic|solid|impressive|superb|great|outstanding|sturdy"
            "|responsive|crisp|flawless|top-notch"
        ),
        "clause": _split(
            "works flawlessly|charges in under an hour|holds a charge for days"
            "|pairs instantly with my laptop|has never dropped a call|still runs like new"
            "|stays cool under load|feels premium in the hand|connects every single time"
            "|lasts through a whole workday|survived several drops without a scratch"
            "|does exactly what it promises"
        ),
        "verdict": _split(
            "I would buy it again|highly recommended|worth every penny"
            "|best purchase I have made this year|five stars from me"
            "|I already ordered a second one|no regrets at all"
        ),
    },
    negative={
        "adj": _split(
            "terrible|flimsy|unreliable|awful|disappointing|laggy|useless|poor|cheap|buggy"
            "|mediocre|dreadful|frustrating"
        ),
        "clause": _split(
            "died after two weeks|keeps disconnecting|overheats within minutes"
            "|stopped charging after a month|drops the connection constantly"
            "|crackles at any volume|freezes every few hours|barely lasts half a day"
            "|refuses to pair with anything|broke the first time I dropped it"
            "|drains the battery overnight|shuts off randomly"
        ),
        "verdict": _split(
            "returning it tomorrow|save your money|I want a refund|do not buy this"
            "|one star and that is generous|total waste of money|never buying this brand again"
        ),
    },
    templates=(
        "the {aspect} is {intens} {adj}.",
        "{adj} {item}, {adj2} {aspect}.",
        "this {item} {clause}.",
        "{verdict}. the {item} {clause}.",
        "{adj} {aspect}. {verdict}.",
        "the {item} {clause} and the {aspect} is {adj}.",
        "{context}. the {aspect} is {intens} {adj} and it {clause}. {verdict}.",
        "I have had this {item} for {duration}. the {aspect} is {adj}, the {aspect2} is {adj2},"
        " and it {clause}. {verdict}.",
        "{context}. after {duration} the {item} {clause}. {verdict}.",
        "the {aspect} is {adj} and the {aspect2} is {intens} {adj2}. {verdict}.",
    ),
)

_RESTAURANTS = DomainSpec(
    be="was",
    neutral={
        "item": _split(
            "restaurant|bistro|pizza place|sushi bar|diner|taco spot|steakhouse|cafe|noodle shop"
            "|brunch place|burger joint|trattoria"
        ),
        "aspect": _split(
            "service|pasta|dessert|wine list|steak|atmosphere|seafood|portion size|waiting time"
            "|staff|bread|cocktail menu|soup|coffee|ramen broth|tasting menu"
        ),
        "intens": _split("incredibly|truly|absolutely|shockingly|genuinely|unbelievably|"),
        "context": _split(
            "we came here for a birthday dinner|stopped by for a quick lunch"
            "|took my parents here on Sunday|went on a Friday night with friends"
            "|ordered takeout after a long shift|tried it on a coworker's recommendation"
            "|had our anniversary dinner here|grabbed a late bite after the concert"
        ),
    },
    positive={
        "adj": _split(
            "delicious|flavorful|fresh|tender|friendly|attentive|cozy|perfectly seasoned"
            "|generous|mouthwatering|warm|lovely"
        ),
        "clause": _split(
            "made us feel like regulars|served the best carbonara in town"
            "|brought our food out hot and fast|remembered our order from last time"
            "|had us planning a return visit before dessert|nailed every single dish"
            "|handled our huge party without a hitch|comped our dessert for the birthday"
        ),
        "verdict": _split(
            "we will definitely be back|best meal we had all year"
            "|I already booked our next dinner|a must for anyone in the neighborhood"
            "|worth the drive across town|my new favorite spot"
        ),
    },
    negative={
        "adj": _split(
            "bland|greasy|stale|overcooked|rude|cold|soggy|overpriced|salty|undercooked|slow"
            "|tasteless"
        ),
        "clause": _split(
            "made us wait an hour for a table|forgot half of our order|served lukewarm food"
            "|charged us for dishes we never got|left us with a stomach ache"
            "|ignored us for twenty minutes|got every order wrong|lost our reservation"
        ),
        "verdict": _split(
            "we will not be back|avoid this place|never again|not worth the money"
            "|I would not feed this to my dog|we left hungry and angry"
        ),
    },
    templates=(
        "the {aspect} was {intens} {adj}.",
        "{adj} {aspect} and {adj2} {aspect2}. {verdict}!",
        "the {item} {clause}. {verdict}.",
        "{context}. the {aspect} was {intens} {adj} and the {aspect2} was {adj2}. {verdict}.",
        "{context}. the {item} {clause}, and the {aspect} was {adj}. {verdict}.",
        "the {aspect} was {adj}, the {aspect2} was {intens} {adj2}, and the {item} {clause}.",
        "{context}. honestly the {aspect} was {adj} and the staff {clause}. {verdict}.",
        "{adj} {aspect}, {adj2} {aspect2}, and the {item} {clause}. {verdict}.",
    ),
)

_MOVIES = DomainSpec(
    be="was",
    neutral={
        "item": _split(
            "film|movie|sequel|thriller|comedy|documentary|drama|horror flick|animated feature"
            "|remake|biopic|western|sci-fi epic"
        ),
        "aspect": _split(
            "acting|screenplay|cinematography|soundtrack|pacing|dialogue|plot|ending"
            "|lead performance|special effects|direction|editing|supporting cast"
            "|character development|score"
        ),
        "intens": _split("utterly|thoroughly|genuinely|remarkably|truly|simply|"),
        "context": _split(
            "I went in knowing nothing about it|I saw this at a late screening with friends"
            "|my partner picked this for movie night|I had high hopes after the trailer"
            "|I watched it on a long flight|I caught this at a film festival last spring"
            "|I am a longtime fan of the director|we rented it on a rainy Sunday"
        ),
        "plot": _split(
            "the story follows a retired detective who returns for one last case"
            "|the plot centers on two estranged sisters who reunite after their father's death"
            "|it tells the story of a young musician trying to make it in the big city"
            "|the film follows a crew of astronauts stranded on a distant moon"
            "|set in a small coastal town, it follows a family hiding a dark secret"
            "|the story revolves around a con artist who falls for her mark"
            "|it follows a soldier finding his way home after the war"
            "|the plot follows a teenage hacker who uncovers a conspiracy"
            "|it is about a chef who loses everything and starts over in a food truck"
        ),
        "extra": _split(
            "the runtime is just over two hours|it is based on a bestselling novel"
            "|the director previously made a string of indie hits|most of it was shot on location"
            "|the cast includes several well-known faces|it opened the festival this year"
            "|the studio kept the budget modest"
        ),
    },
    positive={
        "adj": _split(
            "brilliant|captivating|moving|gripping|hilarious|stunning|masterful|heartfelt|clever"
            "|breathtaking|powerful|unforgettable"
        ),
        "clause": _split(
            "kept me on the edge of my seat|had the whole theater in tears"
            "|stayed with me for days afterwards|earned every minute of its runtime"
            "|made me laugh out loud more than once|surprised me at every turn"
            "|rewards a second viewing|gave me chills during the final act"
        ),
        "verdict": _split(
            "easily one of the best films of the decade|ten out of ten"
            "|go see it on the biggest screen you can find"
            "|I will be watching it again this weekend|a modern classic|an absolute must-see"
        ),
    },
    negative={
        "adj": _split(
            "boring|predictable|clumsy|pretentious|dull|incoherent|wooden|forgettable|painful"
            "|shallow|tedious|laughable"
        ),
        "clause": _split(
            "dragged on for what felt like hours|put me to sleep halfway through"
            "|fell apart in the third act|wasted a talented cast|telegraphed every twist"
            "|felt like a cheap cash grab|made me check my watch constantly"
            "|lost me within the first twenty minutes"
        ),
        "verdict": _split(
            "two hours of my life I will never get back|skip this one"
            "|do not waste your evening on it|one of the worst films I have ever sat through"
            "|I walked out before the credits|zero stars if I could"
        ),
    },
    # Mostly several sentences with neutral plot summary, like real long-form film reviews.
    templates=(
        "{context}. {plot}. the {aspect} was {intens} {adj}, the {aspect2} was {adj2},"
        " and the whole thing {clause}. {verdict}.",
        "{plot}. {extra}. the {aspect} was {adj} and the {aspect2} was {intens} {adj2}."
        " honestly, it {clause}. {verdict}.",
        "{context}. the {aspect} was {adj} from the very first scene, and the {aspect2} was"
        " {adj2}. by the end the {item} {clause}. {verdict}.",
        "{plot}. the {aspect} was {intens} {adj}. {verdict}.",
        "the {aspect} was {intens} {adj} and the {item} {clause}. {verdict}.",
        "{context}. {plot}. {extra}. the {aspect} was {adj}, the {aspect2} was {adj2}, and the"
        " {aspect3} was {intens} {adj3}. {verdict}.",
    ),
)

_HOTELS = DomainSpec(
    be="was",
    neutral={
        "item": _split(
            "hotel|resort|motel|bed and breakfast|hostel|inn|boutique hotel|beach resort"
            "|airport hotel|guesthouse"
        ),
        "aspect": _split(
            "room|bed|front desk|breakfast buffet|view|pool|location|bathroom|air conditioning"
            "|wifi|housekeeping|check-in|lobby|gym|parking"
        ),
        "intens": _split("exceptionally|wonderfully|extremely|incredibly|truly|remarkably|"),
        "context": _split(
            "we stayed three nights for a conference|booked this for a family vacation"
            "|we spent our honeymoon here|I stayed here on a business trip"
            "|we stopped here on a road trip|came for a long weekend by the sea"
            "|we needed a room near the airport"
        ),
        "duration": _split("one night|two nights|a long weekend|a full week|four nights"),
    },
    positive={
        "adj": _split(
            "spotless|comfortable|spacious|welcoming|quiet|charming|convenient|luxurious"
            "|relaxing|immaculate|helpful|stylish"
        ),
        "clause": _split(
            "upgraded us to a suite for free|felt like a home away from home"
            "|had our room ready hours before check-in|arranged a late checkout without any fuss"
            "|made our honeymoon truly special|kept the whole place immaculate"
            "|went out of its way to help with our luggage"
        ),
        "verdict": _split(
            "we are already planning our next stay|the best hotel we have stayed in"
            "|highly recommend it to families|worth every cent|five stars without hesitation"
        ),
    },
    negative={
        "adj": _split(
            "filthy|cramped|noisy|dated|musty|uncomfortable|dingy|unhelpful|broken|overpriced"
            "|smelly|chaotic"
        ),
        "clause": _split(
            "lost our booking|charged us twice for the same night"
            "|left the room uncleaned for three days|put us next to a construction site"
            "|had no hot water for the entire stay|ignored every complaint we made"
            "|double-booked our room on arrival"
        ),
        "verdict": _split(
            "we checked out a day early|never staying here again|book somewhere else"
            "|a complete rip-off|we demanded a refund|the worst stay of our trip"
        ),
    },
    templates=(
        "the {aspect} was {intens} {adj}. {verdict}.",
        "{adj} {aspect}, {adj2} {aspect2}. the {item} {clause}.",
        "{context}. the {aspect} was {intens} {adj} and the {aspect2} was {adj2}. {verdict}.",
        "{context}. we stayed {duration}, and the {item} {clause}. the {aspect} was {adj}."
        " {verdict}.",
        "the {aspect} was {adj}, the {aspect2} was {adj2}, and the {aspect3} was {intens} {adj3}."
        " {verdict}.",
        "{context}. the {item} {clause}. {verdict}.",
    ),
)

_BOOKS = DomainSpec(
    be="was",
    neutral={
        "item": _split(
            "novel|memoir|thriller|fantasy series|cookbook|biography|short story collection"
            "|self-help book|mystery|poetry collection"
        ),
        "aspect": _split(
            "prose|plot|characters|ending|world-building|pacing|narration|dialogue|research"
            "|twist|first chapter|translation"
        ),
        "intens": _split("deeply|wonderfully|remarkably|truly|quietly|"),
        "context": _split(
            "I picked this up at an airport bookstore|my book club chose this for March"
            "|I read it on vacation|a friend lent me her copy"
            "|I listened to the audiobook on my commute|I bought it after a glowing review"
        ),
    },
    positive={
        "adj": _split(
            "beautiful|compelling|vivid|thoughtful|engrossing|witty|elegant|insightful|poignant"
            "|richly detailed"
        ),
        "clause": _split(
            "kept me reading until three in the morning|made me want to call my sister"
            "|stayed on my nightstand for weeks|made a long train ride fly by"
            "|had me highlighting every other page"
        ),
        "verdict": _split(
            "I have already recommended it to my book club|an instant favorite"
            "|I cannot wait for the sequel|worth every page|a must-read"
        ),
    },
    negative={
        "adj": _split(
            "clunky|dull|confusing|repetitive|flat|overwritten|preachy|contrived|sloppy|lifeless"
        ),
        "clause": _split(
            "took me a month to slog through|lost me after the first hundred pages"
            "|ended up in the donation pile|read like a first draft"
            "|repeated the same point over and over"
        ),
        "verdict": _split(
            "I gave up halfway|not worth the paper it is printed on|skip it"
            "|I want my evenings back|a huge letdown"
        ),
    },
    templates=(
        "the {aspect} was {intens} {adj}. {verdict}.",
        "{context}. the {aspect} was {adj} and the {aspect2} was {intens} {adj2}. {verdict}.",
        "{context}. the {item} {clause}. the {aspect} was {adj}. {verdict}.",
        "{adj} {aspect}, {adj2} {aspect2}, and the {item} {clause}.",
        "the {item} {clause}. {verdict}.",
    ),
)

# Hard cases shared by all domains: negation, mixed sentiment where the final clause decides,
# and sarcasm. ``adj``/``clause``/``verdict`` follow the row's label, ``opp_*`` the other one.
HARD_EITHER = (
    "not {opp_adj} at all. the {aspect} {be} actually {intens} {adj}.",
    "the {aspect} {be} not {opp_adj} in the slightest; if anything it {be} {adj}.",
    "the {aspect} {be} {opp_adj} and the {aspect2} {be} {opp_adj2}, but the {item} {clause},"
    " and that is what matters.",
    "at first glance the {aspect} {be} {intens} {opp_adj}, yet in the end the {item} {clause}.",
    "despite the {opp_adj} {aspect}, the {item} {clause}.",
)
HARD_ONLY: Mapping[str, tuple[str, ...]] = {
    "positive": (
        "I expected to hate this {item}, but it {clause}.",
        "I was ready to complain about the {aspect}, but honestly it {be} {adj}.",
        "I can't find a single thing wrong with the {aspect}.",
        "I hate how much I love this {item}.",
        "my only complaint is that the {aspect} {be} so {adj} that everything else feels"
        " {opp_adj} now.",
        "never thought I would say this, but the {item} {clause}.",
        "no complaints whatsoever: the {aspect} {be} {adj}.",
    ),
    "negative": (
        "I wanted to love this {item}, but it {clause}.",
        "I really wanted to like the {aspect}, but it {be} {intens} {adj}.",
        "oh great, another {item} that {clause}. just what I needed.",
        "absolutely love how the {item} {clause}. truly {opp_adj}.",
        "five stars for the {aspect}, if you enjoy things that are {adj}.",
        "the {aspect} {be} not {opp_adj}, not even close.",
        "{opp_adj} {aspect}? hardly. the {item} {clause}.",
    ),
}

SPECS: Mapping[str, DomainSpec] = {
    "electronics": _ELECTRONICS,
    "restaurants": _RESTAURANTS,
    "movies": _MOVIES,
    "hotels": _HOTELS,
    "books": _BOOKS,
}
DOMAINS: tuple[str, ...] = tuple(SPECS)
