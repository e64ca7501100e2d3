"""Write realistic raw Community Alignment data, deterministically from a seed.

The output is one CSV row per conversation in the exact raw (v1.1) layout: a header, then the
45 columns of ``schema.raw_column_names()`` in that order, written with Python's ``csv`` module
(minimal quoting, ``\\n`` line ends, UTF-8 without BOM). Rows are streamed to the file; only
small per-conversation metadata is planned in memory first.

Layout of one present turn ``{t}`` (first .. fourth):

* ``{t}_turn_prompt``: the user's message, in the conversation's language.
* ``{t}_turn_response_a`` .. ``_d``: the four candidates as shown; about 3% end with a
  literal ``<|end_of_text|>`` (the junk is part of the cell, the released text lacks it).
* ``{t}_turn_responses``: the four cells joined exactly as :data:`RESPONSES_FORMAT` says,
  i.e. ``"# Response A:\\n<a>\\n\\n# Response B:\\n<b>\\n\\n# Response C:\\n<c>\\n\\n"
  "# Response D:\\n<d>"`` (each ``<x>`` is the cell, junk included).
* ``{t}_turn_preferred_response``: ``response_a`` .. ``response_d``, or empty when no choice
  was recorded (then the turn is not a comparison and has no feedback).
* ``{t}_turn_feedback``: the annotator's explanation of the choice, or empty.

Turns after a conversation's last are empty cells. Demographics are fixed per annotator and
repeated on each of their rows; a missing answer is an empty cell, rarely the literal
``EMPTY STRING``.

How choices are made (the generator's latent truth): each candidate has a latent Inglehart-
Welzel pole and scores (see :func:`latent_scores`); the probability of picking a candidate is
a softmax over a position bias, a bonus for the longest candidate, a latent quality and the
dot product of the candidate's scores with the annotator's country preference
(:data:`COUNTRY_IW_PREFERENCE`, plus a small personal offset).

``generate(path, config, labels_path=None)`` writes the file and returns the truth dict;
``python -m builder.generate --out FILE ...`` does the same from the shell, and
``python -m builder.generate --sample`` rewrites the embedded sample in ``builder/sample/``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import random
import sys
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from community_alignment import schema
from community_alignment.hashing import response_key
from community_alignment.iw import AXES, LABEL_COLUMNS, POLES, country_positions

# ---------------------------------------------------------------------------------------------
# Layout facts derived from the schema (one fact, one place: values come from schema/*.yaml).

LETTERS = [str(code).upper() for code in schema.codes("choice")]  # A B C D
CHOICE_RAW = [value["raw"] for value in schema.vocabulary("choice")["values"]]
RESPONSES_FORMAT = "\n\n".join(f"# Response {letter}:\n{{{letter}}}" for letter in LETTERS)
"""Format of the ``{t}_turn_responses`` cell; fill with ``A=..., B=..., C=..., D=...``."""

END_OF_TEXT = schema.load("vocabularies")["response_junk"][0]
EMPTY_MARKER = next(m for m in schema.load("vocabularies")["missing_markers"] if m)
LANGUAGES = [str(code) for code in schema.codes("languages")]
COUNTRY_CODES = [str(code) for code in schema.codes("countries")]
COUNTRY_RAW = {v["code"]: v["raw"] for v in schema.vocabulary("countries")["values"]}
TRUE_RAW, FALSE_RAW = (
    next(v["raw"][0] for v in schema.vocabulary("booleans")["values"] if v["code"] is flag)
    for flag in (True, False)
)
WAVES = [int(w) for w in schema.codes("wave")]
TURN_PREFIXES = [prefix for _, prefix in schema.turn_prefixes()]
DEMOGRAPHICS = ["age", "gender", "education_level", "political", "ethnicity"]
LABELLER = "generator-truth"  # the labeller name in the labels file

# The generator's latent preferences: each country's (traditional_secular,
# survival_self_expression) position on the IW map, as shipped with the package (Integrated
# Values Surveys factor scores, community_alignment/data/iw_countries.csv). A candidate's pick
# probability grows with the dot product of its scores and these.
COUNTRY_IW_PREFERENCE = {
    row["iso2"]: (row[AXES[0]], row[AXES[1]])
    for row in country_positions().filter(pl.col("in_release")).iter_rows(named=True)
}

# Share of conversations per country (real v1.1 file) and each country's language.
COUNTRY_SHARES = {"in": 0.338, "br": 0.179, "it": 0.163, "us": 0.161, "fr": 0.159}
COUNTRY_LANGUAGE = {"us": "en", "fr": "fr", "it": "it", "br": "pt", "in": "en"}
INDIA_SECOND_LANGUAGE = "hi"

# Position bias of the choice model, as logits over A..D (first turn, later turns); with the
# other effects they give overall shares of about A 35%, B 20%, C 17%, D 28%.
POSITION_LOGITS = {
    "first": (0.0, -0.52, -0.66, 0.2),
    "later": (0.0, -0.77, -0.98, -0.55),
}

# Demographic distributions, positional over each vocabulary's values in schema order.
AGE_WEIGHTS = (0.56, 0.25, 0.12, 0.07)
GENDER_WEIGHTS = (0.49, 0.49, 0.02)
EDUCATION_WEIGHTS = (0.12, 0.20, 0.42, 0.22, 0.04)
POLITICAL_WEIGHTS = (0.07, 0.22, 0.30, 0.14, 0.05, 0.10, 0.12)
# Ethnicity answers are country-specific categories (the codebook's lists are not public).
ETHNICITY_WEIGHTS = {
    "in": {"Indo-Aryan": 0.62, "Dravidian": 0.27, "Other": 0.05, "Prefer not to say": 0.06},
    "us": {
        "White": 0.58, "Black or African American": 0.13, "Asian": 0.07,
        "Hispanic or Latino": 0.15, "Other": 0.04, "Prefer not to say": 0.03,
    },
    "fr": {
        "White": 0.80, "Black or African American": 0.06, "Asian": 0.04,
        "Hispanic or Latino": 0.01, "Other": 0.05, "Prefer not to say": 0.04,
    },
    "it": {
        "White": 0.90, "Black or African American": 0.02, "Asian": 0.02,
        "Hispanic or Latino": 0.01, "Other": 0.02, "Prefer not to say": 0.03,
    },
    "br": {
        "White": 0.44, "Black or African American": 0.12, "Asian": 0.02,
        "Hispanic or Latino": 0.30, "Other": 0.09, "Prefer not to say": 0.03,
    },
}  # fmt: skip

SAMPLE_DIR = Path(__file__).parent / "sample"
SAMPLE_FILES = {
    "data": "community_alignment_sample.csv",
    "labels": "iw_labels.csv",
    "truth": "truth.json",
}


@dataclass
class GeneratorConfig:
    """What to generate; the defaults give the real v1.1 file's rates."""

    conversations: int = 300
    seed: int = 0
    # share of present turns with prompt and candidates but no recorded choice ...
    missing_choice_rate: float = 0.007
    # ... of which this share is the conversation's last turn (the rest are earlier turns)
    missing_choice_last_share: float = 0.8
    # annotators: None scales 3,603 per 90,256 conversations (at least 5)
    annotators: int | None = None
    annotators_per_conversation: float = 3603 / 90256
    wave2_share: float = 0.125  # of annotators
    country_shares: dict[str, float] = field(default_factory=lambda: dict(COUNTRY_SHARES))
    india_hindi_share: float = 0.46  # of India's conversations
    india_bilingual_share: float = 0.06  # of Indian annotators with both hi and en rows
    turn_count_shares: tuple[float, ...] = (0.072, 0.472, 0.237, 0.219)  # 1, 2, 3, 4 turns
    pregenerated_share: float = 0.69
    conversations_per_pool_prompt: float = 12.0  # sizes each language's pregenerated pool
    prompt_popularity_exponent: float = 0.6  # Zipf exponent of the pool's popularity
    annotators_per_candidate_set: int = 10  # a pool prompt gets ceil(n / this) sets ...
    max_candidate_sets: int = 6  # ... at most this many
    balanced_share: float = 0.5  # in_balanced_subset: equal per country, this share in all
    explanation_rate: float = 0.446  # of comparisons
    end_of_text_rate: float = 0.03  # of candidates
    missing_demographics: dict[str, float] = field(
        default_factory=lambda: {
            "age": 0.040,
            "gender": 0.021,
            "education_level": 0.030,
            "political": 0.020,
            "ethnicity": 0.020,
        }
    )
    empty_marker_rate: float = 0.002  # of missing demographic answers written EMPTY STRING
    min_empty_markers: int = 1  # at least this many (when anything is missing)
    length_scale: float = 1.0  # shortens (< 1) or lengthens candidate texts
    # draws each word of a candidate's sentences at random from the language's words (about
    # half glued to a second), so that the text compresses about as real text does (zstd:
    # about 3x, against about 16x for the banks' sentences repeated word for word); for
    # benchmarks: the sentences no longer read
    random_words: bool = False
    iw_strength: float = 2.0  # weight of the country preference in the choice logit
    personal_iw_sd: float = 0.1  # per-annotator offset to the country preference
    longest_bonus: float = 0.55  # logit bonus of the longest candidate
    quality_weight: float = 0.3  # weight of a candidate's latent quality


SAMPLE_CONFIG = GeneratorConfig(conversations=400, seed=0, annotators=72, length_scale=0.1)
"""The embedded sample: more annotators than linear scaling gives (about 5.6 conversations
each instead of 25) so that first prompts reach 10 annotators in several languages, and
short candidates so that the files stay under 3 MB."""


# ---------------------------------------------------------------------------------------------
# Text banks. One entry per language; `_lines` splits a block into its non-empty lines and
# `_pairs` splits "a | b" lines. Every string is NFC-normalised when the module loads.


def _lines(block: str) -> list[str]:
    """Non-empty lines, whitespace collapsed (a long line may go on after a backslash)."""
    return [" ".join(line.split()) for line in block.strip().splitlines() if line.strip()]


def _pairs(block: str) -> list[tuple[str, ...]]:
    return [tuple(part.strip() for part in line.split("|")) for line in _lines(block)]


BANKS: dict[str, dict] = {}

BANKS["en"] = {
    "real_prompts": [
        (
            "What is the definition of a 'moral dilemma,' and how do we resolve them?",
            "moral dilemmas",
        ),
        (
            "I need help writing a letter to a client apologizing for a mistake in their order, "
            "including a solution and a gesture of goodwill.",
            "an apology letter to a client",
        ),
    ],
    "prefixes": _lines("""
        Hi!
        Hello,
        Quick question:
        Hey,
        Good morning!
    """),
    "suffixes": _lines("""
        Please keep it short.
        I'm a complete beginner.
        My budget is tight.
        Explain it step by step.
        I only have {m} minutes a day.
        My family is quite traditional.
        I live in a small town.
        Thanks in advance!
    """),
    "age_context": "I'm {age}.",
    "ask_templates": _lines("""
        How can I {ask}?
        What is the best way to {ask}?
        Can you give me some tips to {ask}?
        I want to {ask}. Where should I start?
    """),
    "asks": _pairs("""
        save money on groceries | saving money on groceries
        prepare for a job interview | your job interview
        tell my parents that I want to move abroad | the conversation with your parents
        learn a new language as an adult | learning a new language as an adult
        sleep better when I work night shifts | sleeping well on night shifts
        ask my manager for a raise | asking for a raise
        plan a wedding on a small budget | a wedding on a small budget
        help my teenager spend less time on the phone | your teenager's screen time
        make friends in a new city | making friends in a new city
        balance my job and caring for my elderly mother | balancing work and care
        start investing with little money | investing with little money
        cook healthy meals for a family of {n} | healthy family meals
        deal with a rude neighbour | dealing with a difficult neighbour
        choose between two job offers | choosing between two job offers
        teach my kids about money | teaching children about money
        stay motivated while studying at home | staying motivated while studying
        organise a festival in my neighbourhood | the neighbourhood festival
        reduce my stress before exams | exam stress
        start a small business from home | a small home business
        feel more confident speaking in public | public speaking
        support a friend who is grieving | supporting a grieving friend
    """),
    "concept_templates": _lines("""
        Can you explain {concept} in simple terms?
        How would you explain {concept} to a child?
    """),
    "concepts": _lines("""
        a moral dilemma
        inflation
        climate change
        compound interest
        democracy
        artificial intelligence
        the placebo effect
        karma
        confirmation bias
        minimalism
    """),
    "travel_templates": _lines("""
        What should I see in {city} in {n} days?
        Plan a {n}-day trip to {city} for a family with kids.
        Where should I eat in {city} if I'm vegetarian?
    """),
    "travel_about": "your trip to {city}",
    "cities": _lines("""
        Nice
        Rome
        Lisbon
        Paris
        Mumbai
        New York
        Chicago
        Florence
        Jaipur
        Porto
    """),
    "writing_templates": _lines("""
        I need help writing {doc} {recipient} {purpose}.
        Can you write {doc} {recipient} {purpose}?
        Help me draft {doc} {recipient} {purpose}.
    """),
    "docs": _pairs("""
        a letter | the letter
        an email | the email
        a short speech | the speech
        a card | the card
        a message | the message
    """),
    "recipients": _pairs("""
        to a client | to your client
        to my landlord | to your landlord
        to my team | to your team
        to a colleague | to your colleague
        to my neighbour | to your neighbour
        to my son's teacher | to the teacher
    """),
    "purposes": _lines("""
        apologizing for a delay
        asking for a day off
        thanking them for their help
        explaining a change of plans
        politely declining an invitation
        congratulating them on a promotion
    """),
    "writing_about": "{doc} {recipient}",
    "followup_prefixes": ["", "", "Thanks! ", "Great. ", "Hmm, ", "OK. "],
    "followups": _lines("""
        Can you make it shorter, maybe {n} bullet points?
        What if I only have {n} weeks?
        Can you give me a concrete example about {about}?
        That's helpful, but what would you say to someone who disagrees?
        Could you rewrite it in a more formal tone?
        And what about the cost? I can spend about {amount}.
        {Relative} thinks this is a bad idea. How do I answer?
        Can you explain point {n} in more detail?
        Is there anything I should avoid?
        What if I want to involve {relative}?
    """),
    "relatives": _lines("""
        my mother
        my father
        my brother
        my sister
        my husband
        my wife
        my grandmother
        my boss
    """),
    "amounts": ["$200", "$500", "$1,000", "$50 a month"],
    "openers": _lines("""
        Great question! Here are a few thoughts about {about}.
        When it comes to {about}, there is no single right answer, but some principles help.
        Sure, here is a practical way to approach {about}.
        Happy to help with {about}.
        Let's think about {about} step by step.
        That's a common concern, and it's good that you are thinking about {about} early.
    """),
    "body": _lines("""
        Start by writing down what you want to achieve, and be specific about the timeline.
        It often helps to break the problem into smaller steps that you can finish in {n} days \
            or less.
        Keep track of your progress in a notebook or a simple app, so you can see what works.
        Talk to people who have done this before; their experience can save you time and money.
        Don't try to change everything at once, because small changes are easier to keep.
        If something doesn't work after a couple of weeks, adjust the plan instead of giving up.
        Be realistic about your budget, and leave some room for unexpected costs.
        Many people find that a fixed routine makes the first weeks much easier.
        Ask for feedback early, even if the result is not perfect yet.
        Remember that everyone's situation is different, so take what fits you and leave the rest.
        A common mistake is to focus only on the short term and forget the bigger picture.
        Try to set aside about {m} minutes a day for this, ideally at the same time.
        If you feel stuck, explain the problem out loud to a friend; it often clarifies things.
        Check reliable sources, such as official websites or people with real expertise.
        Write a short list of pros and cons, then look at which ones really matter to you.
        It's normal to feel unsure at the beginning, and that feeling usually fades with practice.
        Think about what a good outcome would look like {n} months from now.
        Celebrate small wins, because they keep you motivated.
        As the saying goes, "slow and steady wins the race."
        You can also look for free resources at your local library or community centre.
        If other people are involved, agree on the plan together before you start.
    """),
    "poles": {
        "traditional": _lines("""
            Your family's experience and advice can be a valuable guide here, so involve them \
                in the decision.
            Many people find strength in their faith and in the traditions they grew up with.
            Respecting your elders and the customs of your community usually makes things \
                smoother.
            It is worth keeping the values your parents taught you at the centre of this choice.
            Religious or community leaders can offer guidance rooted in shared values.
        """),
        "secular-rational": _lines("""
            Look at the evidence first: data and expert studies are more reliable than opinions.
            Make the decision based on facts and clear reasoning rather than on what others \
                expect.
            A scientific approach works well here: test one change at a time and measure the \
                result.
            Don't let tradition alone decide; ask whether the rule still makes sense today.
            Compare the options with numbers, for example cost, time and expected benefit.
        """),
        "survival": _lines("""
            Your first priority should be financial security, so keep an emergency fund.
            Avoid unnecessary risks until your basic needs, like income and housing, are stable.
            Think about safety first, for you and for the people who depend on you.
            A stable job is worth a lot, even if it is less exciting.
            Keep a careful eye on expenses, because unexpected costs can hurt a lot.
        """),
        "self-expression": _lines("""
            Above all, choose what feels authentic to you and reflects who you are.
            Your happiness and personal growth matter, so don't ignore what you enjoy.
            It's okay to question expectations and to make your own choices.
            Respect other people's freedom to choose differently, and expect the same from them.
            Use this as a chance to express yourself creatively and try something new.
        """),
    },
    "labels": _lines("""
        Plan ahead
        Set a budget
        Start small
        Ask for help
        Stay consistent
        Be clear
        Review your progress
        Take care of yourself
        Think long term
        Keep it simple
    """),
    "headings": _lines("""
        Key points
        What to avoid
        A simple plan
        Final tips
    """),
    "closers": _lines("""
        I hope this helps, and good luck!
        Let me know if you'd like me to go into more detail on any of these points.
        If you tell me more about your situation, I can adapt these suggestions.
        Take it one step at a time, and you'll get there.
        Would you like a shorter version or a checklist?
    """),
    "example": 'For example, you could write: "{quote}"',
    "quotes": _lines("""
        Thank you for your patience while we fix this.
        I really appreciate your help with this, and I won't forget it.
        I'm sorry for the inconvenience, and I'd like to make it right.
    """),
    "feedback": _lines("""
        I chose response {letter} because it answers the question directly and gives practical \
            steps.
        Response {letter} is clear, well organised and easy to follow, which is what I was \
            looking for.
        The other answers were too long, and some parts felt repetitive.
        Response {other} was not bad, but it ignored part of my question.
        I liked that it did not lecture me, and the tone felt respectful.
        It gives concrete advice, like "{fquote}", instead of general statements.
        Some of the other responses sounded like a template, with a lot of generic phrases.
        I would have liked a bit more detail about costs, but overall it was the most useful.
        It respects my values and doesn't assume everyone lives the same way.
        The list format made it easy to read on my phone.
        Honestly, none of them was perfect, but {letter} came closest to what I would do.
        It felt more human, warm and less robotic than the others.
        The answer considers my family situation, which matters a lot to me.
        I didn't like that response {other} pushed one opinion as if it were the only correct one.
    """),
    "fquotes": ["start small", "ask for help", "be honest", "one step at a time", "your family"],
}

BANKS["fr"] = {
    "real_prompts": [
        (
            "Peux-tu m’aider à structurer une lettre de motivation pour un poste en "
            "développement international ?",
            "une lettre de motivation",
        ),
    ],
    "prefixes": _lines("""
        Bonjour,
        Salut !
        Petite question :
        Coucou,
        Bonsoir,
    """),
    "suffixes": _lines("""
        Fais court, s'il te plaît.
        Je suis débutant.
        J'ai un petit budget.
        Explique-moi étape par étape.
        Je n'ai que {m} minutes par jour.
        Ma famille est assez traditionnelle.
        J'habite dans un petit village.
        Merci d'avance !
    """),
    "age_context": "J'ai {age} ans.",
    "ask_templates": _lines("""
        Comment puis-je {ask} ?
        Tu as des conseils pour {ask} ?
        Je voudrais {ask}. Par où commencer ?
        Peux-tu m’aider à {ask} ?
    """),
    "asks": _pairs("""
        économiser sur les courses | les économies sur les courses
        préparer un entretien d'embauche | votre entretien d'embauche
        annoncer à mes parents que je veux partir à l'étranger | la discussion avec vos parents
        apprendre une nouvelle langue à l'âge adulte | l'apprentissage d'une langue
        mieux dormir quand je travaille de nuit | le sommeil en travail de nuit
        demander une augmentation à mon manager | la demande d'augmentation
        organiser un mariage avec un petit budget | un mariage à petit budget
        aider mon ado à passer moins de temps sur son téléphone | le temps d'écran de votre ado
        me faire des amis dans une nouvelle ville | les nouvelles amitiés
        concilier mon travail et l'aide à ma mère âgée | l'équilibre entre travail et famille
        commencer à investir avec peu d'argent | l'investissement avec peu d'argent
        cuisiner sainement pour une famille de {n} personnes | les repas sains en famille
        gérer un voisin désagréable | les conflits de voisinage
        choisir entre deux offres d'emploi | le choix entre deux offres d'emploi
        apprendre à mes enfants à gérer l'argent | l'éducation financière des enfants
        rester motivé quand j'étudie à la maison | la motivation pour étudier
        organiser une fête de quartier | la fête de quartier
        réduire mon stress avant les examens | le stress des examens
        lancer une petite entreprise depuis chez moi | la création d'une petite entreprise
        prendre confiance pour parler en public | la prise de parole en public
        soutenir un ami en deuil | le soutien à un ami en deuil
    """),
    "concept_templates": _lines("""
        Peux-tu m'expliquer {concept} simplement ?
        Comment expliquer {concept} à un enfant ?
    """),
    "concepts": _lines("""
        un dilemme moral
        l'inflation
        le changement climatique
        l'intérêt composé
        la démocratie
        l'intelligence artificielle
        l'effet placebo
        le karma
        le biais de confirmation
        le minimalisme
    """),
    "travel_templates": _lines("""
        Que voir à {city} en {n} jours ?
        Organise-moi un séjour de {n} jours à {city} avec des enfants.
        Où manger à {city} quand on est végétarien ?
    """),
    "travel_about": "votre séjour à {city}",
    "cities": _lines("""
        Nice
        Lyon
        Marseille
        Rome
        Lisbonne
        Barcelone
        Bordeaux
        Strasbourg
        Montréal
        Annecy
    """),
    "writing_templates": _lines("""
        J'ai besoin d'aide pour écrire {doc} {recipient} {purpose}.
        Tu peux rédiger {doc} {recipient} {purpose} ?
    """),
    "docs": _pairs("""
        une lettre | la lettre
        un e-mail | l'e-mail
        un petit discours | le discours
        une carte | la carte
        un message | le message
    """),
    "recipients": _pairs("""
        à un client | à votre client
        à mon propriétaire | à votre propriétaire
        à mon équipe | à votre équipe
        à une collègue | à votre collègue
        à mon voisin | à votre voisin
        à la maîtresse de mon fils | à la maîtresse
    """),
    "purposes": _lines("""
        pour m'excuser d'un retard
        pour demander un jour de congé
        pour les remercier de leur aide
        pour expliquer un changement de programme
        pour décliner poliment une invitation
        pour féliciter quelqu'un de sa promotion
    """),
    "writing_about": "{doc} {recipient}",
    "followup_prefixes": ["", "", "Merci ! ", "Super. ", "Hmm, ", "D'accord. "],
    "followups": _lines("""
        Tu peux faire plus court, en {n} points maximum ?
        Et si je n'ai que {n} semaines ?
        Tu peux me donner un exemple concret concernant {about} ?
        C'est utile, mais que répondre à quelqu'un qui n'est pas d'accord ?
        Tu peux le réécrire sur un ton plus formel ?
        Et côté budget ? Je peux dépenser environ {amount}.
        {Relative} pense que c'est une mauvaise idée. Qu'est-ce que je réponds ?
        Tu peux détailler le point {n} ?
        Y a-t-il des erreurs à éviter ?
        Et si je veux impliquer {relative} ?
    """),
    "relatives": _lines("""
        ma mère
        mon père
        mon frère
        ma sœur
        mon mari
        ma femme
        ma grand-mère
        mon chef
    """),
    "amounts": ["200 euros", "500 euros", "1 000 euros", "50 euros par mois"],
    "openers": _lines("""
        Bonne question ! Voici quelques pistes concernant {about}.
        Concernant {about}, il n'y a pas de réponse unique, mais quelques principes aident.
        Bien sûr, voici une méthode pratique concernant {about}.
        Avec plaisir, je peux vous aider concernant {about}.
        Voyons ensemble comment avancer concernant {about}.
        C'est une inquiétude courante, et c'est bien d'y réfléchir tôt. Concernant {about}, \
            voici mes conseils.
    """),
    "body": _lines("""
        Commencez par écrire ce que vous voulez obtenir, en précisant un calendrier.
        Il est souvent utile de découper le problème en petites étapes réalisables en {n} \
            jours ou moins.
        Notez vos progrès dans un carnet ou une application simple, pour voir ce qui fonctionne.
        Parlez à des personnes qui l'ont déjà fait : leur expérience peut vous faire gagner du \
            temps et de l'argent.
        N'essayez pas de tout changer d'un coup, car les petits changements durent plus longtemps.
        Si quelque chose ne marche pas après deux semaines, ajustez le plan au lieu d'abandonner.
        Soyez réaliste sur votre budget, et gardez une marge pour les imprévus.
        Beaucoup de gens trouvent qu'une routine fixe rend les premières semaines plus faciles.
        Demandez un retour rapidement, même si le résultat n'est pas encore parfait.
        Chaque situation est différente : gardez ce qui vous convient et laissez le reste.
        Une erreur fréquente consiste à penser seulement au court terme et à oublier la vue \
            d'ensemble.
        Essayez d'y consacrer environ {m} minutes par jour, si possible à la même heure.
        Si vous bloquez, expliquez le problème à voix haute à un ami ; cela clarifie souvent \
            les choses.
        Vérifiez des sources fiables, comme les sites officiels ou de vrais spécialistes.
        Faites une courte liste des avantages et des inconvénients, puis regardez ce qui \
            compte vraiment pour vous.
        Il est normal de se sentir hésitant au début, et ce sentiment diminue avec la pratique.
        Demandez-vous à quoi ressemblerait un bon résultat dans {n} mois.
        Fêtez les petites victoires, car elles entretiennent la motivation.
        Comme on dit, "rien ne sert de courir, il faut partir à point".
        Vous pouvez aussi chercher des ressources gratuites à la médiathèque ou dans une \
            association de quartier.
        Si d'autres personnes sont concernées, mettez-vous d'accord sur le plan avant de \
            commencer.
    """),
    "poles": {
        "traditional": _lines("""
            L'expérience et les conseils de votre famille peuvent être précieux ici, alors \
                associez-la à la décision.
            Beaucoup de personnes puisent de la force dans leur foi et dans les traditions de \
                leur enfance.
            Respecter les anciens et les coutumes de votre communauté facilite souvent les choses.
            Il vaut la peine de garder au centre de ce choix les valeurs transmises par vos \
                parents.
            Les responsables religieux ou communautaires peuvent offrir des conseils fondés \
                sur des valeurs partagées.
        """),
        "secular-rational": _lines("""
            Regardez d'abord les faits : les données et les études sont plus fiables que les \
                opinions.
            Décidez sur la base de faits et d'un raisonnement clair, plutôt que selon ce que \
                les autres attendent.
            Une approche scientifique fonctionne bien : testez un changement à la fois et \
                mesurez le résultat.
            Ne laissez pas la tradition décider seule ; demandez-vous si la règle a encore du \
                sens aujourd'hui.
            Comparez les options avec des chiffres, par exemple le coût, le temps et le \
                bénéfice attendu.
        """),
        "survival": _lines("""
            Votre priorité devrait être la sécurité financière, donc gardez une épargne de \
                précaution.
            Évitez les risques inutiles tant que vos besoins de base, comme le revenu et le \
                logement, ne sont pas stables.
            Pensez d'abord à la sécurité, la vôtre et celle des personnes qui dépendent de vous.
            Un emploi stable vaut beaucoup, même s'il est moins passionnant.
            Surveillez attentivement vos dépenses, car les imprévus peuvent coûter cher.
        """),
        "self-expression": _lines("""
            Avant tout, choisissez ce qui vous semble authentique et qui reflète qui vous êtes.
            Votre bonheur et votre épanouissement comptent, alors n'ignorez pas ce qui vous plaît.
            Il est normal de remettre en question les attentes et de faire vos propres choix.
            Respectez la liberté des autres de choisir autrement, et attendez la même chose d'eux.
            Voyez-y l'occasion de vous exprimer de façon créative et d'essayer quelque chose \
                de nouveau.
        """),
    },
    "labels": _lines("""
        Anticiper
        Fixer un budget
        Commencer petit
        Demander de l'aide
        Rester régulier
        Être clair
        Faire le point
        Prendre soin de soi
        Voir à long terme
        Rester simple
    """),
    "headings": _lines("""
        Points clés
        À éviter
        Un plan simple
        Derniers conseils
    """),
    "closers": _lines("""
        J'espère que cela vous aide, bon courage !
        N'hésitez pas si vous voulez que je détaille un de ces points.
        Si vous m'en dites plus sur votre situation, je peux adapter ces suggestions.
        Avancez une étape à la fois, vous y arriverez.
        Voulez-vous une version plus courte ou une checklist ?
    """),
    "example": 'Par exemple, vous pourriez écrire : "{quote}"',
    "quotes": _lines("""
        Merci pour votre patience pendant que nous corrigeons ce problème.
        Je vous remercie sincèrement pour votre aide, je ne l'oublierai pas.
        Je suis désolé pour ce désagrément, et je souhaite y remédier.
    """),
    "feedback": _lines("""
        J'ai choisi la réponse {letter} parce qu'elle répond directement à la question et \
            donne des étapes concrètes.
        La réponse {letter} est claire, bien organisée et facile à suivre, c'est ce que je \
            cherchais.
        Les autres réponses étaient trop longues, et certaines parties se répétaient.
        La réponse {other} n'était pas mauvaise, mais elle ignorait une partie de ma question.
        J'ai aimé qu'elle ne me fasse pas la morale, et le ton était respectueux.
        Elle donne des conseils concrets, comme "{fquote}", au lieu de généralités.
        Certaines réponses ressemblaient à un modèle tout fait, avec beaucoup de phrases \
            génériques.
        J'aurais aimé un peu plus de détails sur les coûts, mais dans l'ensemble c'était la \
            plus utile.
        Elle respecte mes valeurs et ne suppose pas que tout le monde vit de la même façon.
        Le format en liste la rend facile à lire sur mon téléphone.
        Honnêtement, aucune n'était parfaite, mais la {letter} était la plus proche de ce que \
            je ferais.
        Elle paraît plus humaine, plus chaleureuse et moins robotique que les autres.
        La réponse tient compte de ma situation familiale, ce qui compte beaucoup pour moi.
        Je n'ai pas aimé que la réponse {other} présente une seule opinion comme la seule \
            correcte.
    """),
    "fquotes": [
        "commencer petit",
        "demander de l'aide",
        "être honnête",
        "une étape à la fois",
        "votre famille",
    ],
}

BANKS["it"] = {
    "real_prompts": [("cosa vedere in Nizza in due giorni?", "una visita di due giorni a Nizza")],
    "prefixes": _lines("""
        Ciao!
        Buongiorno,
        Una domanda:
        Salve,
        Scusa,
    """),
    "suffixes": _lines("""
        Rispondi in breve, per favore.
        Sono alle prime armi.
        Ho un budget limitato.
        Spiegami passo per passo.
        Ho solo {m} minuti al giorno.
        La mia famiglia è molto tradizionale.
        Vivo in un piccolo paese.
        Grazie mille!
    """),
    "age_context": "Ho {age} anni.",
    "ask_templates": _lines("""
        Come posso {ask}?
        Hai qualche consiglio per {ask}?
        Vorrei {ask}. Da dove comincio?
        Mi aiuti a capire come {ask}?
    """),
    "asks": _pairs("""
        risparmiare sulla spesa | il risparmio sulla spesa
        prepararmi a un colloquio di lavoro | il colloquio di lavoro
        dire ai miei genitori che voglio trasferirmi all'estero | la conversazione con i tuoi \
            genitori
        imparare una nuova lingua da adulto | lo studio di una nuova lingua
        dormire meglio quando faccio i turni di notte | il sonno con i turni di notte
        chiedere un aumento al mio capo | la richiesta di aumento
        organizzare un matrimonio con poco budget | un matrimonio con poco budget
        aiutare mio figlio adolescente a usare meno il telefono | il tempo davanti allo schermo
        fare amicizia in una nuova città | le nuove amicizie
        conciliare il lavoro e l'assistenza a mia madre anziana | l'equilibrio tra lavoro e \
            famiglia
        iniziare a investire con pochi soldi | gli investimenti con pochi soldi
        cucinare sano per una famiglia di {n} persone | la cucina sana in famiglia
        gestire un vicino maleducato | i problemi con i vicini
        scegliere tra due offerte di lavoro | la scelta tra due offerte di lavoro
        insegnare ai miei figli a gestire i soldi | l'educazione finanziaria dei figli
        restare motivato quando studio a casa | la motivazione nello studio
        organizzare una festa di quartiere | la festa di quartiere
        ridurre lo stress prima degli esami | lo stress da esame
        avviare una piccola attività da casa | una piccola attività da casa
        parlare in pubblico con più sicurezza | il parlare in pubblico
        stare vicino a un amico in lutto | il sostegno a un amico in lutto
    """),
    "concept_templates": _lines("""
        Mi spieghi {concept} in parole semplici?
        Come spiegheresti {concept} a un bambino?
    """),
    "concepts": _lines("""
        un dilemma morale
        l'inflazione
        il cambiamento climatico
        l'interesse composto
        la democrazia
        l'intelligenza artificiale
        l'effetto placebo
        il karma
        il bias di conferma
        il minimalismo
    """),
    "travel_templates": _lines("""
        Cosa vedere a {city} in {n} giorni?
        Organizzami un viaggio di {n} giorni a {city} con i bambini.
        Dove mangiare a {city} se sono vegetariano?
    """),
    "travel_about": "il viaggio a {city}",
    "cities": _lines("""
        Nizza
        Roma
        Firenze
        Napoli
        Venezia
        Torino
        Palermo
        Barcellona
        Parigi
        Lisbona
    """),
    "writing_templates": _lines("""
        Ho bisogno di aiuto per scrivere {doc} {recipient} {purpose}.
        Puoi scrivere {doc} {recipient} {purpose}?
    """),
    "docs": _pairs("""
        una lettera | la lettera
        un'email | l'email
        un breve discorso | il discorso
        un biglietto | il biglietto
        un messaggio | il messaggio
    """),
    "recipients": _pairs("""
        a un cliente | al tuo cliente
        al mio padrone di casa | al padrone di casa
        al mio team | al tuo team
        a una collega | alla tua collega
        al mio vicino | al tuo vicino
        alla maestra di mio figlio | alla maestra
    """),
    "purposes": _lines("""
        per scusarmi di un ritardo
        per chiedere un giorno di ferie
        per ringraziarli del loro aiuto
        per spiegare un cambio di programma
        per rifiutare gentilmente un invito
        per fare i complimenti per una promozione
    """),
    "writing_about": "{doc} {recipient}",
    "followup_prefixes": ["", "", "Grazie! ", "Ottimo. ", "Mmm, ", "Ok. "],
    "followups": _lines("""
        Puoi accorciarlo, magari in {n} punti?
        E se avessi solo {n} settimane?
        Mi fai un esempio concreto per quanto riguarda {about}?
        Utile, ma cosa rispondo a chi non è d'accordo?
        Puoi riscriverlo con un tono più formale?
        E i costi? Posso spendere circa {amount}.
        {Relative} pensa che sia una cattiva idea. Cosa rispondo?
        Puoi spiegare meglio il punto {n}?
        Ci sono errori da evitare?
        E se volessi coinvolgere anche {relative}?
    """),
    "relatives": _lines("""
        mia madre
        mio padre
        mio fratello
        mia sorella
        mio marito
        mia moglie
        mia nonna
        il mio capo
    """),
    "amounts": ["200 euro", "500 euro", "1.000 euro", "50 euro al mese"],
    "openers": _lines("""
        Bella domanda! Ecco alcune idee per quanto riguarda {about}.
        Per quanto riguarda {about}, non esiste una risposta unica, ma alcuni principi aiutano.
        Certo, ecco un modo pratico di affrontare la questione per quanto riguarda {about}.
        Volentieri, ti aiuto per quanto riguarda {about}.
        Vediamo insieme come procedere per quanto riguarda {about}.
        È una preoccupazione comune, ed è bene pensarci per tempo. Per quanto riguarda \
            {about}, ecco i miei consigli.
    """),
    "body": _lines("""
        Inizia scrivendo cosa vuoi ottenere, con una scadenza precisa.
        Spesso aiuta dividere il problema in piccoli passi da completare in {n} giorni o meno.
        Annota i tuoi progressi su un quaderno o in una semplice app, così vedi cosa funziona.
        Parla con chi l'ha già fatto: la loro esperienza può farti risparmiare tempo e soldi.
        Non cercare di cambiare tutto in una volta, perché i piccoli cambiamenti durano di più.
        Se qualcosa non funziona dopo un paio di settimane, modifica il piano invece di \
            arrenderti.
        Sii realista sul budget e lascia un margine per le spese impreviste.
        Molte persone trovano che una routine fissa renda le prime settimane più facili.
        Chiedi un parere presto, anche se il risultato non è ancora perfetto.
        Ogni situazione è diversa: prendi ciò che fa per te e lascia il resto.
        Un errore comune è pensare solo al breve termine e dimenticare il quadro generale.
        Prova a dedicarci circa {m} minuti al giorno, possibilmente sempre alla stessa ora.
        Se ti blocchi, spiega il problema ad alta voce a un amico; spesso le cose diventano \
            più chiare.
        Controlla fonti affidabili, come i siti ufficiali o veri esperti.
        Fai una breve lista di pro e contro, poi guarda quali contano davvero per te.
        È normale sentirsi insicuri all'inizio, e questa sensazione passa con la pratica.
        Chiediti come sarebbe un buon risultato tra {n} mesi.
        Festeggia i piccoli successi, perché mantengono alta la motivazione.
        Come dice il proverbio, "chi va piano va sano e va lontano".
        Puoi anche cercare risorse gratuite nella biblioteca comunale o in un centro di quartiere.
        Se sono coinvolte altre persone, mettetevi d'accordo sul piano prima di iniziare.
    """),
    "poles": {
        "traditional": _lines("""
            L'esperienza e i consigli della tua famiglia possono essere preziosi, quindi \
                coinvolgila nella decisione.
            Molte persone trovano forza nella fede e nelle tradizioni con cui sono cresciute.
            Rispettare gli anziani e le usanze della tua comunità di solito rende tutto più \
                semplice.
            Vale la pena mettere al centro di questa scelta i valori che ti hanno trasmesso i \
                tuoi genitori.
            Il parroco o le figure di riferimento della comunità possono darti consigli basati \
                su valori condivisi.
        """),
        "secular-rational": _lines("""
            Guarda prima i dati: le prove e gli studi degli esperti sono più affidabili delle \
                opinioni.
            Decidi in base ai fatti e a un ragionamento chiaro, non a ciò che gli altri si \
                aspettano.
            Qui funziona bene un approccio scientifico: prova un cambiamento alla volta e \
                misura il risultato.
            Non lasciare che sia solo la tradizione a decidere; chiediti se la regola ha \
                ancora senso oggi.
            Confronta le opzioni con i numeri, per esempio costo, tempo e beneficio atteso.
        """),
        "survival": _lines("""
            La tua priorità dovrebbe essere la sicurezza economica, quindi tieni da parte un \
                fondo di emergenza.
            Evita rischi inutili finché i bisogni di base, come reddito e casa, non sono stabili.
            Pensa prima alla sicurezza, la tua e quella delle persone che dipendono da te.
            Un lavoro stabile vale molto, anche se è meno entusiasmante.
            Tieni d'occhio le spese, perché gli imprevisti possono costare caro.
        """),
        "self-expression": _lines("""
            Soprattutto, scegli ciò che senti autentico e che rispecchia chi sei.
            La tua felicità e la tua crescita personale contano, quindi non ignorare ciò che \
                ti piace.
            Va bene mettere in discussione le aspettative e fare le tue scelte.
            Rispetta la libertà degli altri di scegliere diversamente, e aspettati lo stesso \
                da loro.
            Vedila come un'occasione per esprimerti in modo creativo e provare qualcosa di nuovo.
        """),
    },
    "labels": _lines("""
        Pianifica
        Fissa un budget
        Inizia in piccolo
        Chiedi aiuto
        Sii costante
        Sii chiaro
        Fai il punto
        Prenditi cura di te
        Pensa a lungo termine
        Semplifica
    """),
    "headings": _lines("""
        Punti chiave
        Cosa evitare
        Un piano semplice
        Ultimi consigli
    """),
    "closers": _lines("""
        Spero ti sia utile, in bocca al lupo!
        Fammi sapere se vuoi che approfondisca uno di questi punti.
        Se mi racconti qualcosa in più sulla tua situazione, posso adattare questi suggerimenti.
        Un passo alla volta e ce la farai.
        Vuoi una versione più breve o una checklist?
    """),
    "example": 'Per esempio, potresti scrivere: "{quote}"',
    "quotes": _lines("""
        Grazie per la pazienza mentre risolviamo il problema.
        Ti ringrazio di cuore per il tuo aiuto, non lo dimenticherò.
        Mi scuso per il disagio, e vorrei rimediare.
    """),
    "feedback": _lines("""
        Ho scelto la risposta {letter} perché risponde direttamente alla domanda e dà passi \
            concreti.
        La risposta {letter} è chiara, ben organizzata e facile da seguire, proprio quello che \
            cercavo.
        Le altre risposte erano troppo lunghe, e alcune parti si ripetevano.
        La risposta {other} non era male, ma ignorava una parte della mia domanda.
        Mi è piaciuto che non mi facesse la predica, e il tono era rispettoso.
        Dà consigli concreti, come "{fquote}", invece di frasi generiche.
        Alcune risposte sembravano un modello preconfezionato, con molte frasi fatte.
        Avrei voluto qualche dettaglio in più sui costi, ma nel complesso era la più utile.
        Rispetta i miei valori e non dà per scontato che tutti vivano allo stesso modo.
        Il formato a elenco la rende facile da leggere sul telefono.
        Sinceramente nessuna era perfetta, ma la {letter} era la più vicina a quello che farei io.
        Sembra più umana, più calorosa e meno robotica delle altre.
        Tiene conto della mia situazione familiare, che per me conta molto.
        Non mi è piaciuto che la risposta {other} presentasse un'unica opinione come l'unica \
            giusta.
    """),
    "fquotes": [
        "inizia in piccolo",
        "chiedi aiuto",
        "sii onesto",
        "un passo alla volta",
        "la tua famiglia",
    ],
}

BANKS["pt"] = {
    "real_prompts": [
        (
            "Preciso de ajuda para escrever um cartão desejando melhoras a um colega que está se "
            "recuperando de uma doença, incluindo uma mensagem de apoio e um sentimento de carinho.",
            "um cartão de melhoras para um colega",
        ),
    ],
    "prefixes": _lines("""
        Oi!
        Olá,
        Bom dia!
        Uma dúvida:
        Boa noite,
    """),
    "suffixes": _lines("""
        Responde de forma curta, por favor.
        Sou iniciante.
        Meu orçamento é apertado.
        Me explica passo a passo.
        Só tenho {m} minutos por dia.
        Minha família é bem tradicional.
        Moro numa cidade pequena.
        Desde já, obrigado!
    """),
    "age_context": "Tenho {age} anos.",
    "ask_templates": _lines("""
        Como posso {ask}?
        Você tem dicas para {ask}?
        Quero {ask}. Por onde começo?
        Qual é o melhor jeito de {ask}?
    """),
    "asks": _pairs("""
        economizar no supermercado | a economia no supermercado
        me preparar para uma entrevista de emprego | a entrevista de emprego
        contar aos meus pais que quero morar fora | a conversa com seus pais
        aprender um novo idioma depois dos 30 | o aprendizado de um novo idioma
        dormir melhor trabalhando no turno da noite | o sono no turno da noite
        pedir um aumento ao meu chefe | o pedido de aumento
        organizar um casamento com pouco dinheiro | um casamento econômico
        ajudar meu filho adolescente a usar menos o celular | o tempo de tela do seu filho
        fazer amigos em uma cidade nova | as novas amizades
        conciliar o trabalho com o cuidado da minha mãe idosa | o equilíbrio entre trabalho e \
            família
        começar a investir com pouco dinheiro | os investimentos com pouco dinheiro
        cozinhar de forma saudável para uma família de {n} pessoas | a alimentação da família
        lidar com um vizinho mal-educado | os problemas com vizinhos
        escolher entre duas propostas de emprego | a escolha entre duas propostas
        ensinar meus filhos a lidar com dinheiro | a educação financeira das crianças
        manter a motivação estudando em casa | a motivação para estudar
        organizar uma festa junina no meu bairro | a festa do bairro
        diminuir a ansiedade antes das provas | a ansiedade antes das provas
        abrir um pequeno negócio em casa | um pequeno negócio em casa
        falar em público com mais confiança | falar em público
        apoiar um amigo que está de luto | o apoio a um amigo de luto
    """),
    "concept_templates": _lines("""
        Você pode explicar {concept} de forma simples?
        Como explicar {concept} para uma criança?
    """),
    "concepts": _lines("""
        um dilema moral
        a inflação
        as mudanças climáticas
        os juros compostos
        a democracia
        a inteligência artificial
        o efeito placebo
        o carma
        o viés de confirmação
        o minimalismo
    """),
    "travel_templates": _lines("""
        O que visitar em {city} em {n} dias?
        Monte um roteiro de {n} dias em {city} com crianças.
        Onde comer em {city} sendo vegetariano?
    """),
    "travel_about": "a viagem para {city}",
    "cities": _lines("""
        Salvador
        Belo Horizonte
        São Paulo
        Florianópolis
        Lisboa
        Buenos Aires
        Gramado
        Recife
        Ouro Preto
        Curitiba
    """),
    "writing_templates": _lines("""
        Preciso de ajuda para escrever {doc} {recipient} {purpose}.
        Você pode escrever {doc} {recipient} {purpose}?
    """),
    "docs": _pairs("""
        uma carta | a carta
        um e-mail | o e-mail
        um discurso curto | o discurso
        um cartão | o cartão
        uma mensagem | a mensagem
    """),
    "recipients": _pairs("""
        para um cliente | para o seu cliente
        para o meu locador | para o seu locador
        para a minha equipe | para a sua equipe
        para uma colega | para a sua colega
        para o meu vizinho | para o seu vizinho
        para a professora do meu filho | para a professora
    """),
    "purposes": _lines("""
        pedindo desculpas por um atraso
        pedindo um dia de folga
        agradecendo pela ajuda
        explicando uma mudança de planos
        recusando um convite com educação
        parabenizando por uma promoção
    """),
    "writing_about": "{doc} {recipient}",
    "followup_prefixes": ["", "", "Valeu! ", "Legal. ", "Hmm, ", "Certo. "],
    "followups": _lines("""
        Pode resumir em {n} tópicos?
        E se eu tiver só {n} semanas?
        Pode dar um exemplo concreto sobre {about}?
        Ajudou, mas o que eu respondo para quem discorda?
        Pode reescrever com um tom mais formal?
        E quanto aos custos? Posso gastar uns {amount}.
        {Relative} acha que é uma má ideia. O que eu respondo?
        Pode explicar melhor o item {n}?
        Tem algum erro que eu deveria evitar?
        E se eu quiser envolver {relative}?
    """),
    "relatives": _lines("""
        minha mãe
        meu pai
        meu irmão
        minha irmã
        meu marido
        minha esposa
        minha avó
        meu chefe
    """),
    "amounts": ["R$ 300", "R$ 1.000", "R$ 2.500", "R$ 100 por mês"],
    "openers": _lines("""
        Ótima pergunta! Aqui vão algumas ideias sobre {about}.
        Sobre {about}, não existe uma única resposta certa, mas alguns princípios ajudam.
        Claro, aqui está um jeito prático de pensar sobre {about}.
        Com prazer, vou te ajudar a pensar sobre {about}.
        Vamos pensar juntos sobre {about}.
        É uma preocupação comum, e é bom pensar nisso cedo. Sobre {about}, seguem minhas dicas.
    """),
    "body": _lines("""
        Comece escrevendo o que você quer alcançar, com um prazo claro.
        Costuma ajudar dividir o problema em passos pequenos, que dê para concluir em {n} dias \
            ou menos.
        Anote seu progresso em um caderno ou em um aplicativo simples, para ver o que funciona.
        Converse com quem já passou por isso: a experiência dessas pessoas pode economizar \
            tempo e dinheiro.
        Não tente mudar tudo de uma vez, porque mudanças pequenas duram mais.
        Se algo não funcionar depois de umas duas semanas, ajuste o plano em vez de desistir.
        Seja realista com o orçamento e deixe uma margem para imprevistos.
        Muita gente acha que uma rotina fixa deixa as primeiras semanas bem mais fáceis.
        Peça opinião cedo, mesmo que o resultado ainda não esteja perfeito.
        Cada situação é diferente, então fique com o que serve para você e deixe o resto.
        Um erro comum é pensar só no curto prazo e esquecer o quadro geral.
        Tente reservar uns {m} minutos por dia para isso, de preferência no mesmo horário.
        Se você travar, explique o problema em voz alta para um amigo; isso costuma clarear as \
            ideias.
        Consulte fontes confiáveis, como sites oficiais ou especialistas de verdade.
        Faça uma lista curta de prós e contras e veja quais realmente importam para você.
        É normal se sentir inseguro no começo, e essa sensação diminui com a prática.
        Pense em como seria um bom resultado daqui a {n} meses.
        Comemore as pequenas vitórias, porque elas mantêm a motivação.
        Como diz o ditado, "devagar se vai ao longe".
        Você também pode procurar recursos gratuitos na biblioteca pública ou em projetos do \
            bairro.
        Se outras pessoas estiverem envolvidas, combinem o plano juntos antes de começar.
    """),
    "poles": {
        "traditional": _lines("""
            A experiência e os conselhos da sua família podem ser valiosos aqui, então inclua \
                a família na decisão.
            Muitas pessoas encontram força na fé e nas tradições com que cresceram.
            Respeitar os mais velhos e os costumes da sua comunidade costuma facilitar as coisas.
            Vale a pena manter no centro dessa escolha os valores que seus pais ensinaram.
            Líderes religiosos ou da comunidade podem dar conselhos baseados em valores \
                compartilhados.
        """),
        "secular-rational": _lines("""
            Olhe primeiro para as evidências: dados e estudos são mais confiáveis do que opiniões.
            Decida com base em fatos e em um raciocínio claro, e não no que os outros esperam.
            Uma abordagem científica funciona bem aqui: teste uma mudança de cada vez e meça o \
                resultado.
            Não deixe só a tradição decidir; pergunte se a regra ainda faz sentido hoje.
            Compare as opções com números, por exemplo custo, tempo e benefício esperado.
        """),
        "survival": _lines("""
            Sua prioridade deve ser a segurança financeira, então mantenha uma reserva de \
                emergência.
            Evite riscos desnecessários enquanto suas necessidades básicas, como renda e \
                moradia, não estiverem estáveis.
            Pense primeiro na segurança, sua e das pessoas que dependem de você.
            Um emprego estável vale muito, mesmo que seja menos empolgante.
            Fique de olho nos gastos, porque imprevistos podem sair caro.
        """),
        "self-expression": _lines("""
            Acima de tudo, escolha o que parece autêntico para você e reflete quem você é.
            Sua felicidade e seu crescimento pessoal importam, então não ignore o que você gosta.
            Tudo bem questionar as expectativas e fazer suas próprias escolhas.
            Respeite a liberdade dos outros de escolher diferente, e espere o mesmo deles.
            Veja isso como uma chance de se expressar de forma criativa e tentar algo novo.
        """),
    },
    "labels": _lines("""
        Planeje
        Defina um orçamento
        Comece pequeno
        Peça ajuda
        Seja constante
        Seja claro
        Avalie o progresso
        Cuide de você
        Pense no longo prazo
        Simplifique
    """),
    "headings": _lines("""
        Pontos principais
        O que evitar
        Um plano simples
        Dicas finais
    """),
    "closers": _lines("""
        Espero que ajude, boa sorte!
        Se quiser, posso detalhar qualquer um desses pontos.
        Se você me contar mais sobre a sua situação, posso adaptar essas sugestões.
        Vá um passo de cada vez, que você chega lá.
        Quer uma versão mais curta ou um checklist?
    """),
    "example": 'Por exemplo, você pode escrever: "{quote}"',
    "quotes": _lines("""
        Obrigado pela paciência enquanto resolvemos o problema.
        Agradeço de coração pela sua ajuda, não vou esquecer.
        Peço desculpas pelo transtorno, e quero resolver isso.
    """),
    "feedback": _lines("""
        Escolhi a resposta {letter} porque ela responde direto à pergunta e dá passos práticos.
        A resposta {letter} é clara, organizada e fácil de seguir, era isso que eu queria.
        As outras respostas eram longas demais, e algumas partes se repetiam.
        A resposta {other} não era ruim, mas ignorou parte da minha pergunta.
        Gostei que ela não ficou me dando sermão, e o tom foi respeitoso.
        Ela dá conselhos concretos, como "{fquote}", em vez de frases genéricas.
        Algumas respostas pareciam um modelo pronto, com muitas frases feitas.
        Queria um pouco mais de detalhe sobre os custos, mas no geral foi a mais útil.
        Ela respeita meus valores e não supõe que todo mundo vive do mesmo jeito.
        O formato em lista facilitou a leitura no celular.
        Sinceramente nenhuma foi perfeita, mas a {letter} chegou mais perto do que eu faria.
        Pareceu mais humana, mais calorosa e menos robótica que as outras.
        Ela leva em conta a minha situação familiar, que importa muito para mim.
        Não gostei que a resposta {other} apresentou uma opinião como se fosse a única certa.
    """),
    "fquotes": [
        "comece pequeno",
        "peça ajuda",
        "seja honesto",
        "um passo de cada vez",
        "sua família",
    ],
}

BANKS["hi"] = {
    "real_prompts": [
        (
            "मुझे नए कस्टमर के लिए एक वेलकम ईमेल लिखने में मदद चाहिए, जिसमें प्रशंसा का मैसेज और "
            "व्यक्तिगत भावना शामिल हो.",
            "वेलकम ईमेल लिखने",
        ),
    ],
    "prefixes": _lines("""
        नमस्ते!
        एक सवाल है:
        नमस्कार,
        सुप्रभात!
        कृपया मदद करें।
    """),
    "suffixes": _lines("""
        कृपया छोटा जवाब दें।
        मैं अभी शुरुआत कर रहा हूँ।
        मेरा बजट कम है।
        मुझे कदम-दर-कदम समझाइए।
        मेरे पास रोज़ सिर्फ़ {m} मिनट हैं।
        मेरा परिवार काफ़ी पारंपरिक है।
        मैं एक छोटे शहर में रहती हूँ।
        धन्यवाद!
    """),
    "age_context": "मेरी उम्र {age} साल है।",
    # {ask} is a verb stem: "मैं कैसे {ask} सकता हूँ?", "{ask}ने"; the second part is oblique.
    "ask_templates": _lines("""
        मैं कैसे {ask} सकता हूँ?
        मुझे {ask}ने में मदद चाहिए।
        {ask}ने का सबसे अच्छा तरीका क्या है?
        मैं कैसे {ask} सकती हूँ? कहाँ से शुरू करूँ?
    """),
    "asks": _pairs("""
        किराने के सामान पर पैसे बचा | किराने के सामान पर पैसे बचाने
        नौकरी के इंटरव्यू की तैयारी कर | नौकरी के इंटरव्यू की तैयारी
        अपने माता-पिता से विदेश जाने की बात कर | माता-पिता से विदेश जाने की बात
        बड़ी उम्र में नई भाषा सीख | बड़ी उम्र में नई भाषा सीखने
        नाइट शिफ़्ट के साथ बेहतर नींद ले | नाइट शिफ़्ट में नींद
        अपने मैनेजर से वेतन बढ़ाने की बात कर | वेतन बढ़ाने की बातचीत
        कम बजट में शादी की योजना बना | कम बजट वाली शादी
        अपने किशोर बच्चे का फ़ोन पर समय कम कर | बच्चों के स्क्रीन टाइम
        नए शहर में दोस्त बना | नए शहर में दोस्त बनाने
        नौकरी और बुज़ुर्ग माँ की देखभाल में संतुलन बना | नौकरी और देखभाल के संतुलन
        कम पैसों से निवेश शुरू कर | कम पैसों से निवेश
        {n} लोगों के परिवार के लिए सेहतमंद खाना बना | परिवार के सेहतमंद खाने
        किसी झगड़ालू पड़ोसी से निपट | पड़ोसी से झगड़े
        दो नौकरी के प्रस्तावों में से एक चुन | दो नौकरी के प्रस्तावों
        बच्चों को पैसों के बारे में सिखा | बच्चों को पैसों की समझ देने
        घर पर पढ़ाई करते हुए प्रेरित रह | पढ़ाई में प्रेरणा
        अपने मोहल्ले में त्योहार का आयोजन कर | मोहल्ले के त्योहार
        परीक्षा से पहले तनाव कम कर | परीक्षा के तनाव
        घर से छोटा व्यवसाय शुरू कर | घर से व्यवसाय
        लोगों के सामने बोलते समय आत्मविश्वास बढ़ा | लोगों के सामने बोलने
        शोक में डूबे दोस्त का साथ दे | दुखी दोस्त का साथ देने
    """),
    "concept_templates": _lines("""
        {concept} क्या है और यह क्यों मायने रखता है?
        क्या आप {concept} को आसान शब्दों में समझा सकते हैं?
        एक बच्चे को {concept} कैसे समझाएँ?
    """),
    "concepts": _lines("""
        नैतिक दुविधा
        महँगाई
        जलवायु परिवर्तन
        चक्रवृद्धि ब्याज
        लोकतंत्र
        कृत्रिम बुद्धिमत्ता
        कर्म का सिद्धांत
        प्लेसीबो प्रभाव
        सोशल मीडिया की लत
        सादा जीवन
    """),
    "travel_templates": _lines("""
        {city} में {n} दिनों में क्या-क्या देखना चाहिए?
        बच्चों के साथ {city} की {n} दिन की यात्रा की योजना बनाइए।
        {city} में शाकाहारी खाने के लिए अच्छी जगहें कौन-सी हैं?
    """),
    "travel_about": "{city} की यात्रा",
    "cities": _lines("""
        जयपुर
        मुंबई
        गोवा
        वाराणसी
        दिल्ली
        उदयपुर
        ऋषिकेश
        शिमला
        हैदराबाद
        कोलकाता
    """),
    "writing_templates": _lines("""
        मुझे {recipient} {doc} लिखने में मदद चाहिए, जिसमें {purpose} हो।
        क्या आप {recipient} {doc} लिख सकते हैं, जिसमें {purpose} हो?
    """),
    "docs": _pairs("""
        एक ईमेल | ईमेल
        एक पत्र | पत्र
        एक छोटा भाषण | भाषण
        एक कार्ड | कार्ड
        एक संदेश | संदेश
    """),
    "recipients": _pairs("""
        एक क्लाइंट को | क्लाइंट को
        अपने मकान मालिक को | मकान मालिक को
        अपनी टीम को | टीम को
        एक सहकर्मी को | सहकर्मी को
        अपने पड़ोसी को | पड़ोसी को
        बेटे की टीचर को | टीचर को
    """),
    "purposes": _lines("""
        देरी के लिए माफ़ी
        एक दिन की छुट्टी का अनुरोध
        उनकी मदद के लिए धन्यवाद
        योजना में बदलाव की जानकारी
        निमंत्रण के लिए विनम्र इनकार
        प्रमोशन की बधाई
    """),
    "writing_about": "{recipient} {doc} लिखने",
    "followup_prefixes": ["", "", "ठीक है। ", "बढ़िया। ", "हम्म, ", "धन्यवाद। "],
    "followups": _lines("""
        क्या आप इसे छोटा कर सकते हैं, शायद {n} बिंदुओं में?
        अगर मेरे पास सिर्फ़ {n} हफ़्ते हों तो?
        क्या आप {about} के बारे में एक ठोस उदाहरण दे सकते हैं?
        अच्छा है, लेकिन जो लोग असहमत हैं उन्हें मैं क्या कहूँ?
        क्या आप इसे थोड़ी औपचारिक भाषा में लिख सकते हैं?
        और खर्च का क्या? मैं लगभग {amount} खर्च कर सकता हूँ।
        {Relative} को लगता है कि यह अच्छा विचार नहीं है। मैं क्या जवाब दूँ?
        क्या आप बिंदु {n} को और विस्तार से समझा सकते हैं?
        मुझे किन चीज़ों से बचना चाहिए?
        अगर {relative} भी इसमें शामिल होना चाहें तो?
    """),
    "relatives": _lines("""
        मेरी माँ
        मेरे पिताजी
        मेरे भाई
        मेरी बहन
        मेरे पति
        मेरी पत्नी
        मेरी दादी
        मेरे बॉस
    """),
    "amounts": ["5,000 रुपये", "20,000 रुपये", "1 लाख रुपये", "हर महीने 2,000 रुपये"],
    "openers": _lines("""
        अच्छा सवाल है! {about} के बारे में कुछ बातें यहाँ हैं।
        {about} के बारे में कोई एक सही जवाब नहीं है, लेकिन कुछ सिद्धांत मदद करते हैं।
        ज़रूर, {about} के लिए एक व्यावहारिक तरीका यह है।
        {about} में मदद करके मुझे ख़ुशी होगी।
        आइए {about} के बारे में कदम-दर-कदम सोचते हैं।
        यह एक आम चिंता है, और अच्छी बात है कि आप {about} के बारे में पहले से सोच रहे हैं।
    """),
    "body": _lines("""
        सबसे पहले लिखिए कि आप क्या हासिल करना चाहते हैं, और समय-सीमा साफ़ रखिए।
        समस्या को छोटे-छोटे कदमों में बाँटना मददगार होता है, जिन्हें आप {n} दिनों में पूरा कर \
            सकें।
        अपनी प्रगति किसी डायरी या आसान ऐप में दर्ज करते रहिए, ताकि पता चले कि क्या काम कर रहा है।
        ऐसे लोगों से बात कीजिए जिन्होंने यह पहले किया है; उनका अनुभव आपका समय और पैसा बचा सकता है।
        एक साथ सब कुछ बदलने की कोशिश मत कीजिए, क्योंकि छोटे बदलाव लंबे समय तक टिकते हैं।
        अगर दो हफ़्ते बाद भी कुछ काम न करे, तो हार मानने के बजाय योजना बदलिए।
        अपने बजट के बारे में यथार्थवादी रहिए, और अचानक आने वाले खर्चों के लिए कुछ गुंजाइश रखिए।
        बहुत से लोगों को लगता है कि तय दिनचर्या से शुरुआती हफ़्ते आसान हो जाते हैं।
        जल्दी राय माँगिए, भले ही नतीजा अभी पूरी तरह सही न हो।
        याद रखिए कि हर किसी की स्थिति अलग होती है, इसलिए जो आपके लिए ठीक हो वही अपनाइए।
        एक आम गलती है सिर्फ़ आज के बारे में सोचना और बड़ी तस्वीर को भूल जाना।
        इसके लिए रोज़ लगभग {m} मिनट निकालने की कोशिश कीजिए, हो सके तो एक ही समय पर।
        अगर आप अटक जाएँ, तो किसी दोस्त को समस्या ज़ोर से समझाइए; इससे अक्सर बात साफ़ हो जाती है।
        भरोसेमंद स्रोतों की जाँच कीजिए, जैसे सरकारी वेबसाइटें या असली विशेषज्ञ।
        फ़ायदे और नुकसान की एक छोटी सूची बनाइए, फिर देखिए कि आपके लिए कौन-से सच में मायने रखते \
            हैं।
        शुरुआत में अनिश्चित महसूस करना सामान्य है, और अभ्यास के साथ यह भावना कम हो जाती है।
        सोचिए कि {n} महीने बाद एक अच्छा नतीजा कैसा दिखेगा।
        छोटी जीतों का जश्न मनाइए, क्योंकि इनसे प्रेरणा बनी रहती है।
        जैसा कहा जाता है, "धीरे-धीरे रे मना, धीरे सब कुछ होय।"
        आप अपने इलाके की लाइब्रेरी या सामुदायिक केंद्र में मुफ़्त संसाधन भी खोज सकते हैं।
        अगर दूसरे लोग भी शामिल हैं, तो शुरू करने से पहले मिलकर योजना तय कीजिए।
    """),
    "poles": {
        "traditional": _lines("""
            आपके परिवार का अनुभव और सलाह यहाँ बहुत काम आ सकती है, इसलिए उन्हें फ़ैसले में \
                शामिल कीजिए।
            बहुत से लोगों को अपनी आस्था और परंपराओं से ताक़त मिलती है।
            बड़ों का सम्मान और समाज के रीति-रिवाज़ों का ध्यान रखने से चीज़ें आसान हो जाती हैं।
            अपने माता-पिता के दिए संस्कारों को इस फ़ैसले के केंद्र में रखना ठीक रहेगा।
            धार्मिक या सामुदायिक बुज़ुर्ग ऐसी सलाह दे सकते हैं जो साझा मूल्यों पर आधारित हो।
        """),
        "secular-rational": _lines("""
            पहले सबूत देखिए: आँकड़े और विशेषज्ञों के अध्ययन राय से ज़्यादा भरोसेमंद होते हैं।
            दूसरों की अपेक्षाओं के बजाय तथ्यों और तर्क के आधार पर फ़ैसला कीजिए।
            यहाँ वैज्ञानिक तरीका अच्छा काम करता है: एक बार में एक बदलाव आज़माइए और नतीजा मापिए।
            सिर्फ़ परंपरा को फ़ैसला मत करने दीजिए; पूछिए कि क्या वह नियम आज भी समझ में आता है।
            विकल्पों की तुलना संख्याओं से कीजिए, जैसे लागत, समय और संभावित फ़ायदा।
        """),
        "survival": _lines("""
            आपकी पहली प्राथमिकता आर्थिक सुरक्षा होनी चाहिए, इसलिए आपातकालीन बचत रखिए।
            जब तक आमदनी और घर जैसी बुनियादी ज़रूरतें स्थिर न हों, तब तक जोखिम से बचिए।
            पहले सुरक्षा के बारे में सोचिए, अपनी भी और उन लोगों की भी जो आप पर निर्भर हैं।
            एक स्थिर नौकरी बहुत कीमती है, भले ही वह कम रोमांचक हो।
            खर्चों पर बारीकी से नज़र रखिए, क्योंकि अचानक आने वाले खर्च भारी पड़ सकते हैं।
        """),
        "self-expression": _lines("""
            सबसे बढ़कर वही चुनिए जो आपको सच्चा लगे और आपकी पहचान को दिखाए।
            आपकी ख़ुशी और व्यक्तिगत विकास मायने रखते हैं, इसलिए जो आपको पसंद है उसे नज़रअंदाज़ \
                मत कीजिए।
            उम्मीदों पर सवाल उठाना और अपने फ़ैसले ख़ुद लेना बिल्कुल ठीक है।
            दूसरों की अलग चुनने की आज़ादी का सम्मान कीजिए, और अपने लिए भी वही उम्मीद रखिए।
            इसे ख़ुद को रचनात्मक तरीके से व्यक्त करने और कुछ नया आज़माने का मौका समझिए।
        """),
    },
    "labels": _lines("""
        पहले से योजना
        बजट तय करें
        छोटी शुरुआत
        मदद माँगें
        नियमित रहें
        साफ़ बात करें
        प्रगति देखें
        अपना ध्यान रखें
        लंबी सोच
        सरल रखें
    """),
    "headings": _lines("""
        मुख्य बातें
        किन चीज़ों से बचें
        एक आसान योजना
        आख़िरी सुझाव
    """),
    "closers": _lines("""
        उम्मीद है इससे मदद मिलेगी, शुभकामनाएँ!
        अगर आप चाहें तो मैं किसी भी बिंदु को विस्तार से समझा सकता हूँ।
        अपनी स्थिति के बारे में थोड़ा और बताइए, तो मैं ये सुझाव आपके हिसाब से बदल सकता हूँ।
        एक-एक कदम आगे बढ़िए, आप ज़रूर सफल होंगे।
        क्या आप इसका छोटा रूप या एक चेकलिस्ट चाहेंगे?
    """),
    "example": 'उदाहरण के लिए, आप लिख सकते हैं: "{quote}"',
    "quotes": _lines("""
        आपके धैर्य के लिए धन्यवाद, हम इसे जल्द ठीक करेंगे।
        आपकी मदद के लिए मैं दिल से आभारी हूँ, मैं इसे कभी नहीं भूलूँगा।
        असुविधा के लिए खेद है, और मैं इसे ठीक करना चाहता हूँ।
    """),
    # Annotators name the candidates by their Latin letters, as the interface shows them.
    "feedback": _lines("""
        मैंने उत्तर {letter} चुना क्योंकि यह सीधे सवाल का जवाब देता है और व्यावहारिक कदम बताता है।
        उत्तर {letter} साफ़, व्यवस्थित और समझने में आसान है, मुझे यही चाहिए था।
        बाकी जवाब बहुत लंबे थे, और कुछ हिस्से दोहराए हुए लगे।
        उत्तर {other} बुरा नहीं था, लेकिन उसने मेरे सवाल का एक हिस्सा छोड़ दिया।
        मुझे अच्छा लगा कि इसमें उपदेश नहीं था, और लहजा सम्मानजनक था।
        इसमें "{fquote}" जैसी ठोस सलाह है, सिर्फ़ सामान्य बातें नहीं।
        कुछ दूसरे जवाब किसी टेम्पलेट जैसे लगे, उनमें बहुत सारी घिसी-पिटी बातें थीं।
        मुझे खर्च के बारे में थोड़ी और जानकारी चाहिए थी, लेकिन कुल मिलाकर यही सबसे उपयोगी था।
        यह मेरे मूल्यों का सम्मान करता है और यह नहीं मानता कि सब एक जैसे जीते हैं।
        सूची वाले ढाँचे की वजह से इसे फ़ोन पर पढ़ना आसान था।
        सच कहूँ तो कोई भी जवाब पूरा सही नहीं था, लेकिन {letter} मेरी सोच के सबसे करीब था।
        यह दूसरों की तुलना में ज़्यादा इंसानी और अपनापन भरा लगा।
        इस जवाब में मेरे परिवार की स्थिति का ध्यान रखा गया है, जो मेरे लिए बहुत मायने रखता है।
        मुझे पसंद नहीं आया कि उत्तर {other} ने एक ही राय को अकेली सही राय की तरह पेश किया।
    """),
    "fquotes": ["छोटी शुरुआत", "मदद माँगें", "एक-एक कदम", "आपका परिवार", "सबूत देखिए"],
}


def _nfc(value):
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {key: _nfc(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_nfc(item) for item in value)
    return value


BANKS = _nfc(BANKS)


# ---------------------------------------------------------------------------------------------
# Text: prompts, candidates and explanations, built by joining pre-made sentences.

SMALL_NUMBERS = (2, 3, 4, 5, 6, 7)
MINUTES = (10, 15, 20, 25, 30, 45)


def _strings(value) -> list[str]:
    """Every string in a bank (nested lists, tuples and dicts)."""
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value
    return [text for item in items for text in _strings(item)]


def _reworded(rng: random.Random, sentence: str, words: list[str]) -> str:
    """As many words as the sentence has (split at spaces, so a word keeps its marks), each
    drawn from ``words``, and every other one, on average, joined to a second: a few hundred
    words alone compress about 4x."""
    count = sentence.count(" ") + 1
    drawn = rng.choices(words, k=2 * count)
    glue = rng.choices(("", None), k=count)
    return " ".join(
        drawn[2 * i] + drawn[2 * i + 1] if glue[i] == "" else drawn[2 * i] for i in range(count)
    )


class _Text:
    """Builds the text of one language with a given ``random.Random``."""

    def __init__(self, language: str, length_scale: float, random_words: bool = False):
        self.language = language
        self.bank = BANKS[language]
        self.scale = length_scale
        self.words = []  # drawn from when candidates' words are random (see GeneratorConfig)
        if random_words:
            texts = _strings(self.bank)
            self.words = sorted({w for t in texts for w in t.split(" ") if "{" not in w})

    # prompts ---------------------------------------------------------------------------------

    def _core_prompt(self, rng: random.Random) -> tuple[str, str]:
        """(prompt, about) of a new first prompt without greeting or suffix."""
        bank = self.bank
        n = rng.choice(SMALL_NUMBERS)
        kind = rng.random()
        if kind < 0.5:
            ask, about = rng.choice(bank["asks"])
            ask, about = ask.format(n=n), about.format(n=n)
            return rng.choice(bank["ask_templates"]).format(ask=ask), about
        if kind < 0.65:
            concept = rng.choice(bank["concepts"])
            return rng.choice(bank["concept_templates"]).format(concept=concept), concept
        if kind < 0.8:
            city = rng.choice(bank["cities"])
            prompt = rng.choice(bank["travel_templates"]).format(city=city, n=n)
            return prompt, bank["travel_about"].format(city=city)
        doc = rng.choice(bank["docs"])
        recipient = rng.choice(bank["recipients"])
        purpose = rng.choice(bank["purposes"])
        prompt = rng.choice(bank["writing_templates"]).format(
            doc=doc[0], recipient=recipient[0], purpose=purpose
        )
        return prompt, bank["writing_about"].format(doc=doc[1], recipient=recipient[1])

    def first_prompt(self, rng: random.Random, written: bool) -> tuple[str, str]:
        """A first prompt: pregenerated ones are plain; annotators add greetings and context."""
        prompt, about = self._core_prompt(rng)
        bank = self.bank
        if written and rng.random() < 0.3:
            prefix = rng.choice(bank["prefixes"])
            if prefix.endswith(",") and not prompt.startswith(("I ", "I'")):
                prompt = prompt[0].lower() + prompt[1:]
            prompt = f"{prefix} {prompt}"
        if rng.random() < (0.35 if written else 0.25):
            prompt += " " + rng.choice(bank["suffixes"]).format(m=rng.choice(MINUTES))
        if rng.random() < (0.3 if written else 0.15):
            prompt += " " + bank["age_context"].format(age=rng.randint(18, 75))
        if written and rng.random() < 0.08:
            prompt = prompt[0].lower() + prompt[1:]
        return prompt, about

    def followup(self, rng: random.Random, about: str) -> str:
        bank = self.bank
        relative = rng.choice(bank["relatives"])
        text = rng.choice(bank["followups"]).format(
            n=rng.choice(SMALL_NUMBERS),
            about=about,
            amount=rng.choice(bank["amounts"]),
            relative=relative,
            Relative=relative[0].upper() + relative[1:],
        )
        prefix = rng.choice(bank["followup_prefixes"])
        if prefix.endswith(", "):
            text = text[0].lower() + text[1:]
        return prefix + text

    # candidates ------------------------------------------------------------------------------

    def _count(self, rng: random.Random, low: int, high: int) -> int:
        return max(1, round(rng.randint(low, high) * self.scale))

    def response(self, rng: random.Random, about: str, pole: str) -> str:
        """One candidate: a short answer, paragraphs, a numbered list or markdown sections.

        ``length_scale`` scales the number of sentences; below 1 it also makes the opening,
        closing and example lines rarer.
        """
        bank = self.bank
        frame = min(1.0, self.scale)
        slots = {"n": rng.choice(SMALL_NUMBERS), "m": rng.choice(MINUTES), "about": about}
        opener = rng.choice(bank["openers"]).format_map(slots)
        body = [s.format_map(slots) if "{" in s else s for s in rng.sample(bank["body"], 14)]
        value = rng.sample(bank["poles"][pole], 2)
        if self.words:
            body, value = ([_reworded(rng, s, self.words) for s in part] for part in (body, value))
        closer = rng.choice(bank["closers"])
        example = (
            bank["example"].format(quote=rng.choice(bank["quotes"]))
            if rng.random() < 0.15 * frame
            else None
        )
        head = [opener] if rng.random() < frame else []
        style = rng.random()
        if style < 0.14:  # short: a couple of sentences
            sentences = body[: rng.randint(1, 2)] + value[:1]
            rng.shuffle(sentences)
            if rng.random() < 0.5 * frame:
                sentences.insert(0, opener)
            return " ".join(sentences)
        if style < 0.55:  # paragraphs
            paragraphs = head
            sentences = body[: self._count(rng, 3, 9)] + value[: rng.randint(1, 2)]
            rng.shuffle(sentences)
            while sentences:
                size = rng.randint(2, 4)
                paragraphs.append(" ".join(sentences[:size]))
                sentences = sentences[size:]
            if example:
                paragraphs.insert(rng.randint(1, len(paragraphs)), example)
            if rng.random() < 0.6 * frame:
                paragraphs.append(closer)
            return "\n\n".join(paragraphs)
        if style < 0.85:  # numbered list, some items with a bold label
            items = body[: self._count(rng, 2, 7)] + value[:1]
            rng.shuffle(items)
            labels = rng.sample(bank["labels"], min(len(items), len(bank["labels"])))
            bold = rng.random() < 0.6
            lines = [
                f"{i}. **{labels[i - 1]}**: {item}" if bold and i <= len(labels) else f"{i}. {item}"
                for i, item in enumerate(items, start=1)
            ]
            parts = [*head, "\n".join(lines)]
            if example:
                parts.append(example)
            if rng.random() < 0.7 * frame:
                parts.append(closer)
            return "\n\n".join(parts)
        # markdown sections with a heading each, paragraphs or bullets
        sentences = body[: self._count(rng, 3, 7)] + value[:2]
        rng.shuffle(sentences)
        headings = rng.sample(bank["headings"], rng.randint(2, 3))
        parts = head
        share = max(1, math.ceil(len(sentences) / len(headings)))
        for index, heading in enumerate(headings):
            chunk = sentences[index * share : (index + 1) * share]
            if not chunk:
                break
            if rng.random() < 0.5:
                text = "\n".join(f"- {s}" for s in chunk)
            else:
                text = " ".join(chunk)
            parts.append(f"### {heading}\n\n{text}")
        if example:
            parts.append(example)
        if rng.random() < 0.5 * frame:
            parts.append(closer)
        return "\n\n".join(parts)

    def candidate_set(self, rng: random.Random, about: str, junk_rate: float):
        """Four distinct candidates: (cells as shown, released texts, poles)."""
        while True:
            poles = [rng.choice(POLES) for _ in LETTERS]
            texts = [self.response(rng, about, pole) for pole in poles]
            if len(set(texts)) == len(texts):
                break
        cells = [text + END_OF_TEXT if rng.random() < junk_rate else text for text in texts]
        return cells, texts, poles

    # explanations ----------------------------------------------------------------------------

    def feedback(self, rng: random.Random, chosen: int) -> str:
        """An explanation in the language, median about 50 words; may have quotes and newlines."""
        bank = self.bank
        others = [letter for i, letter in enumerate(LETTERS) if i != chosen]
        slots = {
            "letter": LETTERS[chosen],
            "other": rng.choice(others),
            "fquote": rng.choice(bank["fquotes"]),
        }
        count = min(len(bank["feedback"]), max(1, round(rng.lognormvariate(1.35, 0.45))))
        picked = rng.sample(bank["feedback"], count)
        sentences = [s.format_map(slots) if "{" in s else s for s in picked]
        style = rng.random()
        if style < 0.12 and len(sentences) > 1:
            cut = rng.randint(1, len(sentences) - 1)
            return " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:])
        if style < 0.2:
            return "\n".join(sentences)
        text = " ".join(sentences)
        if style > 0.93:  # typed quickly: lower case, no final stop
            text = text[0].lower() + text[1:].rstrip(".।")
        return text


# ---------------------------------------------------------------------------------------------
# Latent values of a candidate, derived from its released text so that equal texts agree.


def latent_scores(key: str, pole: str) -> tuple[float, float, float]:
    """(traditional_secular, survival_self_expression, quality) of a candidate.

    The pole's axis gets a score of magnitude 0.2-1 with the pole's sign; the other axis a
    smaller one (under 0.8 of it), so the pole is the dominant direction. Quality (mean 0,
    sd 1) is what any annotator likes regardless of values.
    """
    bits = int(key, 16)
    u1 = (bits & 0xFFFFF) / 0x100000
    u2 = ((bits >> 20) & 0xFFFFF) / 0x100000
    u3 = ((bits >> 40) & 0xFFFFF) / 0x100000
    main = round(0.2 + 0.8 * u1, 4)
    other = round((2 * u2 - 1) * 0.8 * main, 4)
    quality = (u3 - 0.5) * 3.4641
    if pole == "traditional":
        return -main, other, quality
    if pole == "secular-rational":
        return main, other, quality
    if pole == "survival":
        return other, -main, quality
    return other, main, quality


def _choose(
    rng: random.Random,
    logits_base: tuple[float, ...],
    scores: list[tuple[float, float, float]],
    lengths: list[int],
    preference: tuple[float, float],
    config: GeneratorConfig,
) -> int:
    longest = max(range(len(lengths)), key=lengths.__getitem__)
    logits = [
        base
        + (config.longest_bonus if i == longest else 0.0)
        + config.quality_weight * quality
        + config.iw_strength * (ts * preference[0] + sse * preference[1])
        for i, (base, (ts, sse, quality)) in enumerate(zip(logits_base, scores, strict=True))
    ]
    top = max(logits)
    weights = [math.exp(v - top) for v in logits]
    pick = rng.random() * sum(weights)
    for index, weight in enumerate(weights):
        pick -= weight
        if pick < 0:
            return index
    return len(weights) - 1


# ---------------------------------------------------------------------------------------------
# Plan: who writes which conversation, with how many turns and which first prompt. Cheap
# per-conversation metadata, decided before any text so that prompt counts are known.


def _derived_seed(*parts) -> int:
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _largest_remainder(total: int, weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


@dataclass
class _Plan:
    annotator_ids: list[str]
    annotator_country: list[str]
    annotator_wave: list[int]
    annotator_demographics: list[dict[str, str]]
    annotator_preference: list[tuple[float, float]]
    annotator_explains: list[float]
    conv_id: np.ndarray
    conv_annotator: np.ndarray
    conv_language: np.ndarray  # index into LANGUAGES
    conv_turns: np.ndarray
    conv_pregenerated: np.ndarray
    conv_pool_prompt: np.ndarray  # index into the language's pool, -1 when written
    conv_candidate_set: np.ndarray
    conv_balanced: np.ndarray
    conv_balanced_10: np.ndarray
    conv_missing_turn: np.ndarray  # 1-based turn without a recorded choice, 0 for none
    pools: dict[str, list[tuple[str, str]]]  # language -> [(prompt, about)]
    pool_annotators: dict[str, np.ndarray]  # language -> distinct annotators per pool prompt


def _annotator_counts(rng: np.random.Generator, annotators: int, conversations: int):
    """Conversations per annotator: most do about a full quota, a minority drop out early.

    The median is slightly above the mean (26 vs 25 in the real file)."""
    dropout = rng.random(annotators) < 0.2
    weights = np.where(
        dropout, rng.uniform(0.04, 0.95, annotators), rng.normal(1.14, 0.28, annotators)
    ).clip(0.02)
    return 1 + _largest_remainder(conversations - annotators, weights)


def _demographics(rng: random.Random, country: str) -> dict[str, str]:
    answers = {}
    for name, weights in (
        ("age", AGE_WEIGHTS),
        ("gender", GENDER_WEIGHTS),
        ("education_level", EDUCATION_WEIGHTS),
        ("political", POLITICAL_WEIGHTS),
    ):
        values = schema.codes(f"annotator_{name}")
        answers[name] = str(rng.choices(values, weights=weights)[0])
    aliases = schema.vocabulary("annotator_political").get("aliases", {})
    for variant, canonical in aliases.items():  # the raw file uses both spellings
        if answers["political"] == canonical and rng.random() < 0.5:
            answers["political"] = variant
    ethnicity = ETHNICITY_WEIGHTS[country]
    answers["ethnicity"] = rng.choices(list(ethnicity), weights=list(ethnicity.values()))[0]
    return answers


def _check_vocabularies() -> None:
    for name, weights in (
        ("annotator_age", AGE_WEIGHTS),
        ("annotator_gender", GENDER_WEIGHTS),
        ("annotator_education_level", EDUCATION_WEIGHTS),
        ("annotator_political", POLITICAL_WEIGHTS),
    ):
        if len(schema.codes(name)) != len(weights):
            raise ValueError(f"generator weights for {name} do not match schema/vocabularies")
    allowed = set(schema.codes("annotator_ethnicity"))
    for country, weights in ETHNICITY_WEIGHTS.items():
        if not set(weights) <= allowed or country not in COUNTRY_CODES:
            raise ValueError(f"generator ethnicity answers for {country} are not in the schema")
    if set(COUNTRY_IW_PREFERENCE) != set(COUNTRY_CODES) or set(BANKS) != set(LANGUAGES):
        raise ValueError("generator countries or languages do not match schema/vocabularies")


def _plan(config: GeneratorConfig) -> _Plan:
    _check_vocabularies()
    total = config.conversations
    if total < 1:
        raise ValueError("conversations must be at least 1")
    rng = np.random.default_rng(_derived_seed(config.seed, "plan"))
    text_rng = random.Random(_derived_seed(config.seed, "annotators"))

    countries = [c for c in COUNTRY_CODES if config.country_shares.get(c, 0) > 0]
    shares = [config.country_shares[c] for c in countries]
    per_country = _largest_remainder(total, shares)
    wanted = config.annotators or max(5, round(total * config.annotators_per_conversation))
    annotators_per_country = np.minimum(
        np.maximum(_largest_remainder(min(wanted, total), shares), per_country > 0), per_country
    )

    # annotators: country, conversation count, language(s), demographics
    ann_country: list[str] = []
    ann_counts: list[int] = []
    for country, n_conv, n_ann in zip(countries, per_country, annotators_per_country, strict=True):
        if n_ann == 0:
            continue
        ann_country += [country] * int(n_ann)
        ann_counts += _annotator_counts(rng, int(n_ann), int(n_conv)).tolist()
    n_ann = len(ann_country)
    ann_language = [COUNTRY_LANGUAGE[c] for c in ann_country]
    indian = [a for a in range(n_ann) if ann_country[a] == "in"]
    india_total = sum(ann_counts[a] for a in indian)
    hindi_target = config.india_hindi_share * india_total
    hindi_total = 0
    for a in rng.permutation(indian).tolist():
        if hindi_total + ann_counts[a] / 2 <= hindi_target:
            ann_language[a] = INDIA_SECOND_LANGUAGE
            hindi_total += ann_counts[a]
    multi = [a for a in indian if ann_counts[a] >= 2]
    n_bilingual = min(len(multi), round(config.india_bilingual_share * len(indian)))
    bilingual = sorted(rng.choice(multi, size=n_bilingual, replace=False).tolist()) if multi else []

    ids: set[int] = set()
    while len(ids) < n_ann:
        ids.update(rng.integers(10**13, 10**14, size=n_ann - len(ids)).tolist())
    annotator_ids = [str(i) for i in sorted(ids)]
    annotator_ids = [annotator_ids[i] for i in rng.permutation(n_ann)]
    waves = np.full(n_ann, WAVES[0])
    waves[rng.choice(n_ann, size=round(config.wave2_share * n_ann), replace=False)] = WAVES[-1]

    demographics = [_demographics(text_rng, country) for country in ann_country]
    missing_cells = []
    for name in DEMOGRAPHICS:  # exactly the configured share of annotators per question
        share = config.missing_demographics.get(name, 0.0)
        for a in sorted(text_rng.sample(range(n_ann), round(share * n_ann))):
            demographics[a][name] = ""
            missing_cells.append((a, name))
    markers = [cell for cell in missing_cells if text_rng.random() < config.empty_marker_rate]
    if len(markers) < config.min_empty_markers and missing_cells:
        markers = text_rng.sample(missing_cells, min(config.min_empty_markers, len(missing_cells)))
    for a, name in markers:
        demographics[a][name] = EMPTY_MARKER
    offsets = rng.normal(0, config.personal_iw_sd, (n_ann, 2))
    preference = [
        (COUNTRY_IW_PREFERENCE[c][0] + float(dx), COUNTRY_IW_PREFERENCE[c][1] + float(dy))
        for c, (dx, dy) in zip(ann_country, offsets, strict=True)
    ]
    explains = rng.beta(0.9, 0.9 * (1 - config.explanation_rate) / config.explanation_rate, n_ann)

    # conversations, grouped by annotator for now
    conv_annotator = np.repeat(np.arange(n_ann), ann_counts)
    language_index = {lang: i for i, lang in enumerate(LANGUAGES)}
    conv_language = np.array([language_index[ann_language[a]] for a in conv_annotator], np.int8)
    starts = np.concatenate([[0], np.cumsum(ann_counts)[:-1]])
    for a in bilingual:
        n = ann_counts[a]
        k = min(n - 1, max(1, round(n * rng.uniform(0.1, 0.4))))
        other = "en" if ann_language[a] == INDIA_SECOND_LANGUAGE else INDIA_SECOND_LANGUAGE
        picked = starts[a] + rng.choice(n, size=k, replace=False)
        conv_language[picked] = language_index[other]
    turn_shares = np.asarray(config.turn_count_shares) / sum(config.turn_count_shares)
    conv_turns = (rng.choice(len(turn_shares), size=total, p=turn_shares) + 1).astype(np.int8)
    conv_pregenerated = rng.random(total) < config.pregenerated_share

    # pregenerated first prompts: a per-language pool with Zipf popularity, no repeats per
    # annotator; candidate sets per prompt grow with its number of annotators
    conv_pool_prompt = np.full(total, -1, np.int64)
    conv_candidate_set = np.zeros(total, np.int64)
    pools: dict[str, list[tuple[str, str]]] = {}
    pool_annotators: dict[str, np.ndarray] = {}
    for lang in LANGUAGES:
        mask = conv_pregenerated & (conv_language == language_index[lang])
        if not mask.any():
            continue
        per_annotator = np.bincount(conv_annotator[mask], minlength=n_ann)
        size = max(
            math.ceil(mask.sum() / config.conversations_per_pool_prompt),
            int(per_annotator.max()),
            len(BANKS[lang]["real_prompts"]),
        )
        pools[lang] = _pool(lang, size, config)
        weights = 1.0 / np.arange(1, size + 1) ** config.prompt_popularity_exponent
        weights /= weights.sum()
        positions = np.flatnonzero(mask)
        owners = conv_annotator[positions]
        for a in np.unique(owners):
            mine = positions[owners == a]
            conv_pool_prompt[mine] = rng.choice(size, size=len(mine), replace=False, p=weights)
        counts = np.bincount(conv_pool_prompt[positions], minlength=size)
        pool_annotators[lang] = counts
        sets = np.clip(
            np.ceil(counts / config.annotators_per_candidate_set), 1, config.max_candidate_sets
        ).astype(np.int64)
        conv_candidate_set[positions] = (
            rng.random(len(positions)) * sets[conv_pool_prompt[positions]]
        ).astype(np.int64)

    conv_balanced_10 = np.zeros(total, bool)
    for lang, counts in pool_annotators.items():
        mask = (conv_pool_prompt >= 0) & (conv_language == language_index[lang])
        conv_balanced_10[mask] = counts[conv_pool_prompt[mask]] >= 10

    # balanced subset: the same number of conversations from every country
    conv_country = np.array([ann_country[a] for a in conv_annotator])
    conv_balanced = np.zeros(total, bool)
    per = min(round(total * config.balanced_share / len(countries)), int(per_country.min()))
    for country in countries:
        members = np.flatnonzero(conv_country == country)
        conv_balanced[rng.choice(members, size=min(per, len(members)), replace=False)] = True

    # turns without a recorded choice: mostly the last turn, some earlier ones
    conv_missing_turn = np.zeros(total, np.int8)
    missing = round(config.missing_choice_rate * int(conv_turns.sum()))
    in_middle = min(
        int((conv_turns > 1).sum()), missing - round(missing * config.missing_choice_last_share)
    )
    middle = rng.choice(np.flatnonzero(conv_turns > 1), size=in_middle, replace=False)
    conv_missing_turn[middle] = [rng.integers(1, conv_turns[c]) for c in middle]
    free = np.flatnonzero(conv_missing_turn == 0)
    last = rng.choice(free, size=min(len(free), missing - in_middle), replace=False)
    conv_missing_turn[last] = conv_turns[last]

    # row order: shuffled; ids are distinct 6-7 digit integers, not in row order
    order = rng.permutation(total)
    conv_id = 700_000 + rng.choice(4 * total, size=total, replace=False)
    return _Plan(
        annotator_ids=annotator_ids,
        annotator_country=ann_country,
        annotator_wave=[int(w) for w in waves],
        annotator_demographics=demographics,
        annotator_preference=preference,
        annotator_explains=explains.tolist(),
        conv_id=conv_id,
        conv_annotator=conv_annotator[order],
        conv_language=conv_language[order],
        conv_turns=conv_turns[order],
        conv_pregenerated=conv_pregenerated[order],
        conv_pool_prompt=conv_pool_prompt[order],
        conv_candidate_set=conv_candidate_set[order],
        conv_balanced=conv_balanced[order],
        conv_balanced_10=conv_balanced_10[order],
        conv_missing_turn=conv_missing_turn[order],
        pools=pools,
        pool_annotators=pool_annotators,
    )


def _pool(language: str, size: int, config: GeneratorConfig) -> list[tuple[str, str]]:
    """The language's pregenerated first prompts: the real ones first, then distinct others."""
    rng = random.Random(_derived_seed(config.seed, "pool", language))
    text = _Text(language, config.length_scale)
    pool = list(BANKS[language]["real_prompts"])
    seen = {prompt for prompt, _ in pool}
    attempts = 0
    while len(pool) < size:
        prompt, about = text.first_prompt(rng, written=False)
        attempts += 1
        if prompt not in seen:
            seen.add(prompt)
            pool.append((prompt, about))
        elif attempts > 50 * size:
            raise ValueError(f"cannot make {size} distinct {language} pool prompts")
    return pool


# ---------------------------------------------------------------------------------------------
# Writing: stream one row per conversation, count the truth on the way.


def _count(counter: Counter) -> dict[str, int]:
    return {str(key): int(value) for key, value in sorted(counter.items())}


def generate(
    path: str | Path, config: GeneratorConfig | None = None, labels_path: str | Path | None = None
) -> dict:
    """Write the raw CSV (and, with ``labels_path``, IW labels); return the truth dict."""
    config = config or GeneratorConfig()
    plan = _plan(config)
    texts = {lang: _Text(lang, config.length_scale, config.random_words) for lang in LANGUAGES}
    rng = random.Random(_derived_seed(config.seed, "text"))
    seen_prompts = {prompt for pool in plan.pools.values() for prompt, _ in pool}
    seen_keys: set[str] = set()
    annotator_cells = [
        [plan.annotator_ids[a], COUNTRY_RAW[plan.annotator_country[a]]]
        + [plan.annotator_demographics[a][name] for name in DEMOGRAPHICS]
        for a in range(len(plan.annotator_ids))
    ]
    empty_turn = [""] * 8
    counts = {name: Counter() for name in (
        "length", "country", "language", "wave", "comparisons_by_turn", "comparisons_by_choice",
        "comparisons_by_country", "comparisons_by_language", "annotator_languages",
    )}  # fmt: skip
    languages_of: dict[int, set[str]] = {}
    totals = Counter()

    labels_handle = open(labels_path, "w", encoding="utf-8", newline="") if labels_path else None
    try:
        labels = csv.writer(labels_handle, lineterminator="\n") if labels_handle else None
        if labels:
            labels.writerow(LABEL_COLUMNS)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            writer.writerow(schema.raw_column_names())
            for c in range(config.conversations):
                a = int(plan.conv_annotator[c])
                lang = LANGUAGES[plan.conv_language[c]]
                country = plan.annotator_country[a]
                text = texts[lang]
                n_turns = int(plan.conv_turns[c])
                missing_turn = int(plan.conv_missing_turn[c])
                languages_of.setdefault(a, set()).add(lang)
                row = [str(plan.conv_id[c]), plan.annotator_ids[a], lang] + annotator_cells[a][1:]
                about = ""
                gap = False
                for turn in range(1, n_turns + 1):
                    if turn == 1:
                        prompt_index = int(plan.conv_pool_prompt[c])
                        if prompt_index >= 0:
                            prompt, about = plan.pools[lang][prompt_index]
                            unit_rng = random.Random(_derived_seed(
                                config.seed, "unit", lang, prompt_index,
                                int(plan.conv_candidate_set[c]),
                            ))  # fmt: skip
                            cells, released, poles = text.candidate_set(
                                unit_rng, about, config.end_of_text_rate
                            )
                        else:
                            prompt, about = text.first_prompt(rng, written=True)
                            while prompt in seen_prompts:
                                prompt, about = text.first_prompt(rng, written=True)
                            seen_prompts.add(prompt)
                            cells, released, poles = text.candidate_set(
                                rng, about, config.end_of_text_rate
                            )
                    else:
                        prompt = text.followup(rng, about)
                        cells, released, poles = text.candidate_set(
                            rng, about, config.end_of_text_rate
                        )
                    scores = []
                    for released_text, pole in zip(released, poles, strict=True):
                        key = response_key(released_text)
                        ts, sse, quality = latent_scores(key, pole)
                        scores.append((ts, sse, quality))
                        if key not in seen_keys:
                            seen_keys.add(key)
                            if labels:
                                labels.writerow(
                                    [key, pole, f"{ts + 0.0:.4f}", f"{sse + 0.0:.4f}", LABELLER]
                                )
                    totals["responses_with_end_of_text"] += sum(
                        cell.endswith(END_OF_TEXT) for cell in cells
                    )
                    choice_cell = feedback = ""
                    if turn == missing_turn:
                        totals["turns_without_choice"] += 1
                        totals["turns_without_choice_before_last"] += turn < n_turns
                        gap = True
                    else:
                        chosen = _choose(
                            rng,
                            POSITION_LOGITS["first" if turn == 1 else "later"],
                            scores,
                            [len(t) for t in released],
                            plan.annotator_preference[a],
                            config,
                        )
                        choice_cell = CHOICE_RAW[chosen]
                        if rng.random() < plan.annotator_explains[a]:
                            feedback = text.feedback(rng, chosen)
                            totals["explanations"] += 1
                        totals["comparisons"] += 1
                        totals["comparisons_with_incomplete_context"] += gap
                        counts["comparisons_by_turn"][turn] += 1
                        counts["comparisons_by_choice"][schema.codes("choice")[chosen]] += 1
                        counts["comparisons_by_country"][country] += 1
                        counts["comparisons_by_language"][lang] += 1
                    row += [
                        prompt,
                        RESPONSES_FORMAT.format(**dict(zip(LETTERS, cells, strict=True))),
                        *cells,
                        choice_cell,
                        feedback,
                    ]
                    totals["turns"] += 1
                for _ in range(n_turns, len(TURN_PREFIXES)):
                    row += empty_turn
                row += [
                    TRUE_RAW if plan.conv_pregenerated[c] else FALSE_RAW,
                    TRUE_RAW if plan.conv_balanced[c] else FALSE_RAW,
                    TRUE_RAW if plan.conv_balanced_10[c] else FALSE_RAW,
                    str(plan.annotator_wave[a]),
                ]
                writer.writerow(row)
                counts["length"][n_turns] += 1
                counts["country"][country] += 1
                counts["language"][lang] += 1
                counts["wave"][plan.annotator_wave[a]] += 1
    finally:
        if labels_handle:
            labels_handle.close()

    truth = _truth(config, plan, counts, totals, languages_of)
    truth["distinct_responses"] = len(seen_keys)
    return truth


def _truth(config, plan: _Plan, counts, totals, languages_of) -> dict:
    n_ann = len(plan.annotator_ids)
    conversations_of = Counter(plan.conv_annotator.tolist())
    units = Counter(
        (int(lang), int(prompt), int(unit))
        for lang, prompt, unit in zip(
            plan.conv_language, plan.conv_pool_prompt, plan.conv_candidate_set, strict=True
        )
        if prompt >= 0
    )

    def answer(value: str) -> str | None:
        return None if value in schema.load("vocabularies")["missing_markers"] else value

    detail = {
        plan.annotator_ids[a]: {
            "country": plan.annotator_country[a],
            "country_raw": COUNTRY_RAW[plan.annotator_country[a]],
            "wave": plan.annotator_wave[a],
            "languages": sorted(languages_of.get(a, ())),
            "conversations": conversations_of[a],
            **{name: answer(plan.annotator_demographics[a][name]) for name in DEMOGRAPHICS},
        }
        for a in range(n_ann)
    }
    return {
        "generator": {
            "config": asdict(config),
            "iw_country_preference": {k: list(v) for k, v in COUNTRY_IW_PREFERENCE.items()},
            "position_logits": {k: list(v) for k, v in POSITION_LOGITS.items()},
        },
        "conversations": config.conversations,
        "turns": totals["turns"],
        "comparisons": totals["comparisons"],
        "comparisons_by_turn": _count(counts["comparisons_by_turn"]),
        "comparisons_by_choice": _count(counts["comparisons_by_choice"]),
        "comparisons_by_country": _count(counts["comparisons_by_country"]),
        "comparisons_by_language": _count(counts["comparisons_by_language"]),
        "comparisons_with_incomplete_context": totals["comparisons_with_incomplete_context"],
        "conversations_by_length": _count(counts["length"]),
        "conversations_by_country": _count(counts["country"]),
        "conversations_by_language": _count(counts["language"]),
        "conversations_by_wave": _count(counts["wave"]),
        "annotators": n_ann,
        "annotators_by_country": _count(Counter(plan.annotator_country)),
        "annotators_by_wave": _count(Counter(plan.annotator_wave)),
        "explanations": totals["explanations"],
        "turns_without_choice": totals["turns_without_choice"],
        "turns_without_choice_before_last": totals["turns_without_choice_before_last"],
        "responses_with_end_of_text": totals["responses_with_end_of_text"],
        "pregenerated_conversations": int(plan.conv_pregenerated.sum()),
        "balanced_conversations": int(plan.conv_balanced.sum()),
        "balanced_10_conversations": int(plan.conv_balanced_10.sum()),
        "first_prompts_with_10_annotators": int(
            sum((counts_ >= 10).sum() for counts_ in plan.pool_annotators.values())
        ),
        "shared_first_turn_units": sum(1 for n in units.values() if n >= 2),
        "annotators_detail": detail,
    }


def write_truth(truth: dict, path: str | Path) -> None:
    """The truth dict as JSON with sorted keys (UTF-8, readable)."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        json.dump(truth, handle, sort_keys=True, indent=1, ensure_ascii=False)
        handle.write("\n")


def write_sample(
    directory: str | Path = SAMPLE_DIR, config: GeneratorConfig = SAMPLE_CONFIG
) -> dict:
    """(Re)write the embedded sample: raw CSV, IW labels and truth."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    truth = generate(
        directory / SAMPLE_FILES["data"], config, labels_path=directory / SAMPLE_FILES["labels"]
    )
    write_truth(truth, directory / SAMPLE_FILES["truth"])
    return truth


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m builder.generate",
        description="Write realistic raw Community Alignment data (deterministic from a seed).",
    )
    parser.add_argument("--out", type=Path, help="raw CSV to write")
    parser.add_argument("--conversations", type=int, default=GeneratorConfig.conversations)
    parser.add_argument("--seed", type=int, default=GeneratorConfig.seed)
    parser.add_argument("--annotators", type=int, help="default: 3,603 per 90,256 conversations")
    parser.add_argument(
        "--length-scale", type=float, default=1.0, help="shorten (<1) or lengthen candidates"
    )
    parser.add_argument(
        "--random-words",
        action="store_true",
        help="draw the words of candidates at random: text that compresses like real text",
    )
    parser.add_argument("--labels", type=Path, help="also write IW labels of every response")
    parser.add_argument("--truth", type=Path, help="also write the truth as JSON")
    parser.add_argument(
        "--sample", action="store_true", help=f"rewrite the embedded sample in {SAMPLE_DIR}"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # as passed on by a wrapper: python -m builder generate -- ...
        argv = argv[1:]
    args = parser.parse_args(argv)
    if args.sample:
        truth = write_sample()
        print(f"sample: {truth['conversations']} conversations in {SAMPLE_DIR}")
        return 0
    if args.out is None:
        parser.error("--out is required (or --sample)")
    config = GeneratorConfig(
        conversations=args.conversations,
        seed=args.seed,
        annotators=args.annotators,
        length_scale=args.length_scale,
        random_words=args.random_words,
    )
    truth = generate(args.out, config, labels_path=args.labels)
    if args.truth:
        write_truth(truth, args.truth)
    print(
        f"{args.out}: {truth['conversations']} conversations, {truth['comparisons']} "
        f"comparisons, {truth['annotators']} annotators"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
