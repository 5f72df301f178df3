"""Synthetic multi-council scenarios in the contract's folder format, for tests and benchmarks.

``generate_scenario(out, councils=50, applicants=12_000, cohorts=50)`` writes a complete,
realistic and *feasible* scenario folder: real English council names and directorates, diverse
British names, protected characteristics that follow a workforce profile (default: the seed's
60% women, 14% minority ethnic, 12% disabled), three panelists with their own leniency and
noise, the seed's 12-month plan, and enough mentors, coaches and venues for every cohort.

Everything comes from one ``random.Random(seed)`` and every file is written with ``\\n`` line
ends, so the same arguments give the same bytes on every machine. Rows are written with the
plain ``csv`` module (no per-row validation), so 100,000 applicants take seconds.

Feasibility by construction:

- each cohort has a *core* of ``places`` eligible applicants, at most one per
  (council, service area) and spread evenly over the cohort's councils, so the places,
  ``max_per_service_area``, ``min_service_areas`` and ``max_per_council`` limits can all hold;
- total mentor capacity is at least 1.3 x total places, every mentor has grade >= 9 (the gap of
  2 above grade 7);
- coach capacity passes Hall's condition with 20% slack (cohort-only coaches + shared coaches),
  and every council is served by at least 1.5 x the places it can take;
- every venue seats a whole cohort with its facilitator and the three CMT members.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from cohort_solver.domain.programme_time import month_last_day

CsvRow = tuple[Any, ...]  # one row of a generated CSV file, cells in column order

__all__ = ["generate_scenario", "COUNCILS", "SERVICE_AREAS", "ATTRIBUTES", "DEFAULT_PROFILE"]

ATTRIBUTES = (
    "strategic",
    "agile",
    "collaborative",
    "accountable",
    "innovative",
    "compassionate",
    "change_agent",
    "financial",
)

# workforce share, senior share (the seed's information session)
DEFAULT_PROFILE: dict[str, float] = {"woman": 0.60, "minority_ethnic": 0.14, "disabled": 0.12}
_SENIOR = {"woman": 0.50, "minority_ethnic": 0.09, "disabled": 0.02}

PROGRAMME_START = date(2024, 4, 1)
PROGRAMME_END = date(2025, 10, 31)  # month 19 = October 2025
PANELISTS = ("panel-1", "panel-2", "panel-3")
MIN_SCORE = 4  # aggregate out of 10 below this = not appointable
_SHARED_STAFF_MAX_COHORTS = 5  # above this, programme.csv names no facilitator / CMT (see below)

# Real English councils; Staffordshire first, as in the regional "Stepping Up" seed, then
# neighbouring regions so that contiguous blocks (cohorts) are geographically sensible.
COUNCILS = (
    "Stafford Borough Council",
    "Cannock Chase District Council",
    "Lichfield District Council",
    "Tamworth Borough Council",
    "East Staffordshire Borough Council",
    "South Staffordshire Council",
    "Staffordshire Moorlands District Council",
    "Newcastle-under-Lyme Borough Council",
    "Stoke-on-Trent City Council",
    "Staffordshire County Council",
    "Birmingham City Council",
    "Coventry City Council",
    "City of Wolverhampton Council",
    "Dudley Metropolitan Borough Council",
    "Sandwell Metropolitan Borough Council",
    "Walsall Council",
    "Solihull Metropolitan Borough Council",
    "Telford and Wrekin Council",
    "Shropshire Council",
    "Herefordshire Council",
    "Worcestershire County Council",
    "Worcester City Council",
    "Warwickshire County Council",
    "Warwick District Council",
    "Rugby Borough Council",
    "Nuneaton and Bedworth Borough Council",
    "Leicester City Council",
    "Leicestershire County Council",
    "Nottingham City Council",
    "Nottinghamshire County Council",
    "Derby City Council",
    "Derbyshire County Council",
    "Cheshire East Council",
    "Cheshire West and Chester Council",
    "Manchester City Council",
    "Salford City Council",
    "Trafford Council",
    "Stockport Metropolitan Borough Council",
    "Leeds City Council",
    "Bradford Metropolitan District Council",
    "Kirklees Council",
    "Sheffield City Council",
    "Oxford City Council",
    "Oxfordshire County Council",
    "Cherwell District Council",
    "West Oxfordshire District Council",
    "South Oxfordshire District Council",
    "Vale of White Horse District Council",
    "Reading Borough Council",
    "Milton Keynes City Council",
    "Luton Borough Council",
    "Cambridge City Council",
    "Peterborough City Council",
    "Norfolk County Council",
    "Norwich City Council",
    "King's Lynn and West Norfolk Borough Council",
    "Kent County Council",
    "Canterbury City Council",
    "Medway Council",
    "Brighton and Hove City Council",
    "Southampton City Council",
    "Portsmouth City Council",
    "Bristol City Council",
    "Bath and North East Somerset Council",
    "Exeter City Council",
    "Plymouth City Council",
)

# Council directorates, with a relative size (how many grade 6-7 staff apply from each).
SERVICE_AREAS: dict[str, float] = {
    "Adult Social Care": 1.6,
    "Children's Services": 1.6,
    "Housing": 1.2,
    "Planning": 0.9,
    "Environmental Services": 0.9,
    "Finance": 1.0,
    "Revenues and Benefits": 1.0,
    "Legal and Democratic": 0.6,
    "HR and OD": 0.6,
    "Customer Services": 1.2,
    "Regeneration": 0.7,
    "Public Health": 0.6,
    "ICT": 0.8,
    "Waste and Recycling": 0.8,
    "Leisure and Culture": 0.7,
    "Highways": 0.9,
}
# Two-tier England: counties do not collect waste or run housing; districts run no care,
# public health or highways. Unitary, metropolitan and numbered councils do everything.
_NOT_IN_COUNTY = {"Housing", "Revenues and Benefits", "Waste and Recycling"}
_NOT_IN_DISTRICT = {"Adult Social Care", "Children's Services", "Public Health", "Highways"}

_EXTERNAL_ORGS = (
    ("NHS Staffordshire and Stoke-on-Trent ICB", "nhs.net", "Organisational Development"),
    ("West Midlands Combined Authority", "wmca.org.uk", "Strategy and Policy"),
    ("University of Birmingham", "bham.ac.uk", "People and Organisational Development"),
    ("Environment Agency", "environment-agency.gov.uk", "Operations"),
    ("Local Government Association", "local.gov.uk", "Workforce"),
)
_COACHING_FIRMS = (
    "reflect-coaching.example",
    "northstar-coaching.example",
    "clearpath-leadership.example",
    "brightside-coaching.example",
    "meridian-development.example",
    "thrive-leadership.example",
)

# --------------------------------------------------------------------------- names


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FEMALE = _words(
    "Sarah Emma Rebecca Claire Laura Helen Rachel Gemma Kate Louise Joanne Nicola Victoria "
    "Charlotte Hannah Lucy Amy Jennifer Catherine Alison Karen Susan Joanna Fiona Sian "
    "Bethan Megan Eleanor Sophie Zoe Natalie Kirsty Lisa Michelle Angela Julie Deborah Ruth "
    "Holly Jessica Amanda Stephanie Caroline Philippa Harriet Niamh Siobhan Aoife Eilidh "
    "Morag"
)
_MALE = _words(
    "James David Mark Paul Andrew Richard Daniel Thomas Matthew Christopher Stephen Michael "
    "Robert Simon Peter Jonathan Gareth Rhys Owen Craig Neil Ian Graham Stuart Adam Ben Luke "
    "Liam Jack Sam Oliver Harry Tom Nathan Ryan Callum Ewan Alistair Dominic Patrick Sean "
    "Connor Kieran Martin Philip Anthony Gary Darren Lee Carl"
)
_SURNAMES = _words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Hughes Edwards Turner Harris Lewis "
    "Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James "
    "Scott Phillips Watson Davis Parker Price Bennett Griffiths Cook Bailey Richardson "
    "Collins Marshall Ellis Kelly Murphy O'Brien MacDonald Campbell Stewart Reid Fraser "
    "Pritchard Howells Whitfield Ashworth Holloway Fletcher Radcliffe Armitage Birch Lloyd "
    "Doyle Nolan"
)
# Heritage groups for minority ethnic names: (weight, female first names, male first names, surnames)
_HERITAGES = (
    (
        0.45,
        "Priya Aisha Fatima Nadia Amina Yasmin Shabana Sunita Anjali Deepa Kiran Harpreet Manpreet "
        "Simran Rukhsana Sadia Zainab Hafsa Farah Nisha",
        "Mohammed Ahmed Imran Tariq Hamza Bilal Usman Zain Arjun Rohan Vikram Sanjay Rajesh Amrit "
        "Gurpreet Harjit Jaswinder Anil Sajid Nikhil",
        "Khan Ahmed Hussain Ali Patel Shah Sharma Singh Gill Sandhu Mehta Iqbal Akhtar Chowdhury "
        "Rahman Islam Mahmood Siddiqui Kapoor Verma Nair Bhatti Dhillon",
    ),
    (
        0.20,
        "Grace Chiamaka Ngozi Funmi Adaeze Abimbola Folake Ama Abena Precious Blessing Tendai Esther",
        "Kwame Kofi Chinedu Emeka Olumide Tunde Femi Segun Kwabena Samuel Daniel Ibrahim",
        "Okafor Adeyemi Okoro Adebayo Mensah Asante Owusu Boateng Nwosu Eze Osei Bakare Abdi Mohamed",
    ),
    (
        0.12,
        "Keisha Shanice Tanisha Jasmine Simone Marcia Nia Paulette Janelle",
        "Winston Marlon Delroy Jermaine Andre Tyrone Desmond Nathaniel Leon",
        "Campbell Francis Thomas Grant Williams Clarke-Williams Brown Johnson Powell Reid",
    ),
    (
        0.08,
        "Mei Ling Xin Hui Thu Yan",
        "Wei Jun Chen Minh Hao Kai",
        "Chen Wang Li Zhang Nguyen Tran Wong Liu",
    ),
    (
        0.08,
        "Leila Mariam Noor Esra Elif Rania",
        "Omar Yusuf Karim Hassan Mehmet Emre",
        "Yilmaz Demir Haddad Mansour Hassan Aziz",
    ),
    (
        0.07,
        "Dorota Agnieszka Roxana Ioana",
        "Tomasz Piotr Andrei Marek",
        "Kowalski Nowak Popescu Wisniewski Ionescu",
    ),
)
_HERITAGE_CUM = list(accumulate(h[0] for h in _HERITAGES))
_HERITAGE_NAMES = [(f.split(), m.split(), s.split()) for _, f, m, s in _HERITAGES]


class _People:
    """Draws names and unique email addresses."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: dict[str, int] = {}

    def name(self, woman: bool | None = None, diverse: bool | None = None) -> str:
        rng = self.rng
        if woman is None:
            woman = rng.random() < 0.5
        if diverse is None:
            diverse = rng.random() < 0.14
        female: Sequence[str]
        male: Sequence[str]
        surnames: Sequence[str]
        if diverse:
            female, male, surnames = rng.choices(_HERITAGE_NAMES, cum_weights=_HERITAGE_CUM)[0]
        else:
            female, male, surnames = _FEMALE, _MALE, _SURNAMES
        first = rng.choice(female if woman else male)
        last = rng.choice(surnames)
        return f"{first} {last}"

    def email(self, name: str, domain: str) -> str:
        local = ".".join(re.sub(r"[^a-z-]", "", part.lower()) for part in name.split())
        address = f"{local}@{domain}"
        count = self.used.get(address, 0) + 1
        self.used[address] = count
        if count > 1:
            address = f"{local}{count}@{domain}"
        return address


# --------------------------------------------------------------------------- councils

_SUFFIXES = (
    " Metropolitan Borough Council",
    " Metropolitan District Council",
    " Borough Council",
    " District Council",
    " County Council",
    " City Council",
    " Council",
)


def _place(council: str) -> str:
    if re.fullmatch(r"Council \d+", council):
        return council
    name = council.removeprefix("City of ")
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "")).strip("-")


def _council_names(count: int) -> list[str]:
    return [COUNCILS[i] if i < len(COUNCILS) else f"Council {i + 1}" for i in range(count)]


_UNITARY_BOROUGHS = ("Reading Borough Council", "Luton Borough Council")


def _areas_of(council: str) -> list[str]:
    """The directorates a council runs (two-tier areas split the services)."""
    lower_tier = ("District Council" in council or "Borough Council" in council) and not (
        "Metropolitan" in council or council in _UNITARY_BOROUGHS
    )
    if "County Council" in council:
        skip = _NOT_IN_COUNTY
    elif lower_tier:
        skip = _NOT_IN_DISTRICT
    else:
        skip = set()
    return [a for a in SERVICE_AREAS if a not in skip]


def _council_weight(rng: random.Random, council: str) -> float:
    if "County Council" in council or council.startswith(("Birmingham", "Leeds", "Manchester")):
        return rng.uniform(2.0, 3.0)
    if "City" in council or "Metropolitan" in council:
        return rng.uniform(1.3, 2.2)
    return rng.uniform(0.6, 1.3)


def _split(items: Sequence[str], parts: int) -> list[list[str]]:
    """Contiguous blocks as even as possible; with fewer items than parts, items are shared."""
    if len(items) >= parts:
        return [
            list(items[i * len(items) // parts : (i + 1) * len(items) // parts])
            for i in range(parts)
        ]
    return [[items[i * len(items) // parts]] for i in range(parts)]


# --------------------------------------------------------------------------- programme

# The seed's "What is included?" table (oxford-2024's programme.csv), months 1-19.
_PROGRAMME_CSV = """\
session_key,title,kind,month,duration_minutes,facilitator,with,after
IND,Group Inductions,cohort_event,1,180,FAC1,,
W01,Group Workshop - Self Assessment,group,2,210,FAC1,,
C1,1:1 coaching around self-assessment and personal development plan,coaching,2,60,,,W01
W02,Group Workshop - Managing Self,group,3,180,FAC2,,
W03,Group Workshop - Leading people,group,4,210,FAC1,,
C2,"1:1 coaching, employee led, around personal development plan",coaching,4,60,,,
R-LM1,Progress review and presentation to Line Manager,review,4,60,,line_manager,W03
W04,Group Workshop - Inclusive Leadership,group,5,210,FAC1,,
W05,Group Workshop - Managing Others,group,6,180,FAC2,,
C3,"1:1 coaching, employee led, around personal development plan",coaching,6,60,,,
W06,Group Workshop - Stakeholder Relationships,group,7,180,FAC2,,
R-LM2,Progress review and presentation to Line Manager,review,7,60,,line_manager,W06
W07,Group Workshop - Effective Communication,group,8,180,FAC1,,
C4,"1:1 coaching, employee led, around personal development plan",coaching,8,60,,,
W08,"Group workshop - Wellbeing, Health and safety of Self and others",group,9,180,FAC2,,
W09,Workshop or Industry Day,group,10,210,FAC1,,
C5,"1:1 coaching, employee led, around personal development plan",coaching,10,60,,,
R-HOS1,Progress review and presentation to Head of Service,review,10,60,,head_of_service,W09
W10,Workshop or Industry Day,group,11,210,FAC2,,
W11,Group Workshop - Self assessment revisited,group,12,180,FAC1,,
C6,"1:1 coaching, employee led, around personal development plan",coaching,12,60,,,W11
W12,Group workshop - Employability skills and progression planning,group,13,210,FAC2,,
IMPACT,Impact Review and presentation to CMT,cohort_event,14,120,FAC1,CMT1;CMT2;CMT3,
C7,"1:1 coaching, employee led, around personal development plan",coaching,19,60,,,
"""


# --------------------------------------------------------------------------- writing


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _toml_list(values: Iterable[object]) -> str:
    return "[" + ", ".join(_toml_str(v) if isinstance(v, str) else str(v) for v in values) + "]"


def _share(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value else "0"


def _weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


# --------------------------------------------------------------------------- front door


def generate_scenario(
    out: Path,
    *,
    councils: int,
    applicants: int,
    cohorts: int = 1,
    seed: int = 0,
    mentors: int | None = None,
    coaches: int | None = None,
    venues: int | None = None,
    part_time_share: float = 0.2,
    unavailability_share: float = 0.05,
    ineligible_share: float = 0.25,
    score_ties: float = 0.05,
    profile: Mapping[str, float] | None = None,
    places: int = 12,
    months: int = 19,
    after_chains: bool = False,
    shared_facilitators: int = _SHARED_STAFF_MAX_COHORTS,
    participant_unavailability_share: float = 0.0,
    group_weekdays: Sequence[str] = ("Tue", "Wed", "Thu"),
) -> Path:
    """Write a complete, feasible scenario folder to ``out`` and return its path.

    The calendar families (all off by default, so existing arguments give the same bytes):

    - ``months``: the seed's 19-month plan cut short (fewer months) or stretched (more, e.g.
      a 24-month programme), sessions of one month staying together;
    - ``after_chains``: `after` chains across kinds and people in a month: each coaching
      session follows that month's workshop, and each review follows that month's coaching
      (workshop, then coach, then line manager or head of service);
    - ``shared_facilitators``: programme.csv names the facilitators and CMT panel when there
      are at most this many cohorts (then every cohort's sessions share them);
    - ``participant_unavailability_share``: that share of applicants is away for a while
      (``unavailability_share`` covers coaches, facilitators, managers and venues);
    - ``group_weekdays``: the weekdays group sessions may take (e.g. only "Wed");
      with few ``venues`` this makes tight venues.

    Raises ValueError for arguments no feasible scenario can honour (e.g. fewer applicants
    than ``cohorts * places``).
    """
    profile = dict(DEFAULT_PROFILE if profile is None else profile)
    _check_arguments(
        councils=councils,
        applicants=applicants,
        cohorts=cohorts,
        places=places,
        shares={
            "part_time_share": part_time_share,
            "unavailability_share": unavailability_share,
            "ineligible_share": ineligible_share,
            "score_ties": score_ties,
            "participant_unavailability_share": participant_unavailability_share,
            **{f"profile[{k}]": v for k, v in profile.items()},
        },
        counts={"mentors": mentors, "coaches": coaches, "venues": venues},
        groups=list(profile),
    )
    _check_calendar_arguments(months, shared_facilitators, group_weekdays)
    end = month_last_day(PROGRAMME_START, months)  # month 19 = October 2025
    # One generator, drawn from in a fixed order (councils, applicants, scores, people,
    # mentors, coaches, venues, unavailability, conflicts): the same seed gives the same bytes.
    rng = random.Random(seed)
    names = _People(rng)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    org = _councils(rng, councils, cohorts, places)
    rows = _applicants(
        rng,
        names,
        applicants=applicants,
        blocks=org.blocks,
        cohort_ids=org.cohort_ids,
        council_names=org.names,
        areas=org.areas,
        weights=org.weights,
        domains=org.domains,
        places=places,
        ineligible_share=ineligible_share,
        part_time_share=part_time_share,
        profile=profile,
    )
    scores = _scores(rng, rows, score_ties=score_ties)
    people = _line_managers_and_heads(names, rows, org)
    people += _facilitators_and_cmt(names, cohorts, org)
    total_places = places * cohorts
    mentor_rows = _mentors(
        rng,
        names,
        count=max(1, total_places) if mentors is None else mentors,
        total_places=total_places,
        council_names=org.names,
        weights=org.weights,
        areas=org.areas,
        domains=org.domains,
    )
    coach_rows = _coaches(
        rng,
        names,
        count=max(4, cohorts * 2) if coaches is None else coaches,
        blocks=org.blocks,
        places=places,
        max_per_council=org.max_per_council,
        domains=org.domains,
        councils=councils,
    )
    venue_rows = _venues(
        rng,
        count=max(3, cohorts // 2 + 1) if venues is None else venues,
        council_names=org.names,
        places=places,
    )
    unavailable = _unavailability(
        rng,
        [p[0] for p in people] + [c[0] for c in coach_rows],
        [v[0] for v in venue_rows],
        unavailability_share,
        end,
    )
    conflicts = _conflicts(rng, rows, mentor_rows, coach_rows)
    if participant_unavailability_share:  # drawn last: other files keep their bytes
        unavailable += _unavailability(
            rng, [r["id"] for r in rows], [], participant_unavailability_share, end
        )

    _write_applicants(out, rows, list(profile), shared_councils=councils < cohorts)
    _write_tables(
        out,
        scores=scores,
        mentors=mentor_rows,
        coaches=coach_rows,
        people=people,
        venues=venue_rows,
        unavailable=unavailable,
        conflicts=conflicts,
    )
    _write_programme(out, months, after_chains, shared_staff=cohorts <= shared_facilitators)
    toml = _scenario_toml(
        council_names=org.names,
        blocks=org.blocks,
        cohort_ids=org.cohort_ids,
        places=places,
        seed=seed,
        profile=profile,
        max_per_council=org.max_per_council,
        applicants=applicants,
        group_weekdays=group_weekdays,
    )
    (out / "scenario.toml").write_bytes(toml.encode("utf-8"))
    return out


def _check_calendar_arguments(
    months: int, shared_facilitators: int, group_weekdays: Sequence[str]
) -> None:
    if months < 1:
        raise ValueError(f"months must be at least 1 (got {months})")
    if shared_facilitators < 0:
        raise ValueError(f"shared_facilitators must be at least 0 (got {shared_facilitators})")
    unknown = [d for d in group_weekdays if d not in ("Mon", "Tue", "Wed", "Thu", "Fri")]
    if unknown or not group_weekdays:
        raise ValueError(f"group_weekdays must be some of Mon..Fri (got {list(group_weekdays)})")


@dataclass(frozen=True)
class _Councils:
    """The councils of a scenario and how they are split into cohorts."""

    names: list[str]
    domains: dict[str, str]  # council -> email domain
    areas: dict[str, list[str]]  # council -> its service areas
    weights: dict[str, float]  # council -> its share of applicants
    blocks: list[list[str]]  # cohort -> its councils
    cohort_ids: list[str]
    max_per_council: int | None


def _councils(rng: random.Random, councils: int, cohorts: int, places: int) -> _Councils:
    """The council names, their areas and weights, and their split into cohorts; ValueError
    when a cohort's councils have too few (council, service area) pairs for its places."""
    names = _council_names(councils)
    areas = {c: _areas_of(c) for c in names}
    blocks = _split(names, cohorts)
    width = max(2, len(str(cohorts)))
    per_cohort = min(len(b) for b in blocks)
    for block in blocks:
        pairs = sum(len(areas[c]) for c in block)
        if places > 2 * pairs:
            raise ValueError(
                f"places={places} cannot be spread over {pairs} (council, service area) pairs "
                "with at most 2 per pair: use fewer places or more councils per cohort"
            )
    return _Councils(
        names=names,
        domains={c: f"{_slug(_place(c))}.gov.uk" for c in names},
        areas=areas,
        weights={c: _council_weight(rng, c) for c in names},
        blocks=blocks,
        cohort_ids=["main"] if cohorts == 1 else [f"c{i + 1:0{width}d}" for i in range(cohorts)],
        # a council cap only means something with at least 3 councils in every cohort
        max_per_council=max(4, math.ceil(places / per_cohort)) if per_cohort >= 3 else None,
    )


PersonRow = tuple[str, str, str, str, str, str]  # person_id, name, email, role, council, area


def _line_managers_and_heads(
    names: _People, rows: list[dict[str, Any]], org: _Councils
) -> list[PersonRow]:
    """A line manager for every four applicants of a (council, service area) and a head of
    service for each, in council and area order; sets each applicant's line_manager_id."""
    council_index = {c: i for i, c in enumerate(org.names)}
    area_index = {a: i for i, a in enumerate(SERVICE_AREAS)}
    members: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(rows):
        members.setdefault((row["council"], row["service_area"]), []).append(i)
    pairs = sorted(members, key=lambda p: (council_index[p[0]], area_index[p[1]]))
    lm_width = max(2, len(str(sum(math.ceil(len(members[p]) / 4) for p in pairs))))
    hos_width = max(2, len(str(len(pairs))))
    line_managers: list[PersonRow] = []
    heads: list[PersonRow] = []
    for council, area in pairs:
        domain = org.domains[council]
        mine = members[council, area]
        for k in range(math.ceil(len(mine) / 4)):
            lm_id = f"LM{len(line_managers) + 1:0{lm_width}d}"
            name = names.name()
            line_managers.append(
                (lm_id, name, names.email(name, domain), "line_manager", council, area)
            )
            for i in mine[4 * k : 4 * k + 4]:
                rows[i]["line_manager_id"] = lm_id
        name = names.name()
        hos_id = f"HOS{len(heads) + 1:0{hos_width}d}"
        heads.append((hos_id, name, names.email(name, domain), "head_of_service", council, area))
    return line_managers + heads


def _facilitators_and_cmt(names: _People, cohorts: int, org: _Councils) -> list[PersonRow]:
    """Two facilitators per five cohorts, and the lead council's three CMT members."""
    people: list[PersonRow] = []
    for k in range(2 * math.ceil(cohorts / 5)):
        council = org.blocks[min(cohorts - 1, (k // 2) * 5)][0]
        name = names.name()
        email = names.email(name, org.domains[council])
        people.append((f"FAC{k + 1}", name, email, "facilitator", council, "HR and OD"))
    lead = org.names[0]
    for k, area in enumerate(
        ("Chief Executive's Office", "Corporate Resources", "Communities and People")
    ):
        name = names.name()
        email = names.email(name, org.domains[lead])
        people.append((f"CMT{k + 1}", name, email, "cmt", lead, area))
    return people


def _write_applicants(
    out: Path, rows: list[dict[str, Any]], groups: list[str], *, shared_councils: bool
) -> None:
    """applicants.csv; a ``cohorts`` column only when councils are shared between cohorts."""
    header = [
        "applicant_id",
        "name",
        "email",
        "council",
        "service_area",
        "grade",
        "probation_passed",
        "line_manager_approved",
        "performance_eligible",
        "line_manager_id",
        *groups,
        "development_needs",
        "working_days",
        *(["cohorts"] if shared_councils else []),
    ]
    keys = ["id", "name", "email", "council", "service_area", "grade", "probation", "approved"]
    keys += ["performance", "line_manager_id"]
    _write_csv(
        out / "applicants.csv",
        header,
        (
            (
                *(r[k] for k in keys),
                *r["groups"],
                r["needs"],
                r["days"],
                *([r["cohort"]] if shared_councils else []),
            )
            for r in rows
        ),
    )


def _write_tables(
    out: Path,
    *,
    scores: Sequence[CsvRow],
    mentors: Sequence[CsvRow],
    coaches: Sequence[CsvRow],
    people: Sequence[CsvRow],
    venues: Sequence[CsvRow],
    unavailable: Sequence[CsvRow],
    conflicts: Sequence[CsvRow],
) -> None:
    """Every CSV file but applicants.csv and programme.csv, with the contract's headers."""
    _write_csv(out / "scores.csv", ["applicant_id", "panelist", "score"], scores)
    _write_csv(
        out / "mentors.csv",
        ["mentor_id", "name", "email", "council", "service_area", "grade", "capacity", "expertise"],
        mentors,
    )
    _write_csv(
        out / "coaches.csv",
        ["coach_id", "name", "email", "capacity", "expertise", "councils", "working_days"],
        coaches,
    )
    _write_csv(
        out / "people.csv",
        ["person_id", "name", "email", "role", "council", "service_area"],
        people,
    )
    _write_csv(out / "venues.csv", ["venue_id", "name", "capacity", "council"], venues)
    _write_csv(out / "unavailability.csv", ["id", "start", "end"], unavailable)
    _write_csv(out / "conflicts.csv", ["person_a", "person_b"], conflicts)


def _write_programme(out: Path, months: int, after_chains: bool, *, shared_staff: bool) -> None:
    """programme.csv: one plan for every cohort. Beyond a few cohorts the contract cannot give
    each cohort its own facilitator or CMT panel, and the same two people cannot run every
    cohort's workshops, so the plan names them only when ``shared_staff``."""
    header, *plan = _programme(months, after_chains)
    for session in plan:
        if not shared_staff:
            session[5] = ""  # facilitator
            if session[6] not in ("line_manager", "head_of_service"):
                session[6] = ""  # with: the CMT members
    _write_csv(out / "programme.csv", header, plan)


def _check_arguments(
    *,
    councils: int,
    applicants: int,
    cohorts: int,
    places: int,
    shares: Mapping[str, float],
    counts: Mapping[str, int | None],
    groups: Sequence[str],
) -> None:
    if councils < 1:
        raise ValueError(f"councils must be at least 1 (got {councils})")
    if cohorts < 1:
        raise ValueError(f"cohorts must be at least 1 (got {cohorts})")
    if places < 1:
        raise ValueError(f"places must be at least 1 (got {places})")
    if applicants < cohorts * places:
        raise ValueError(
            f"applicants={applicants} cannot fill {cohorts} cohorts of {places}: "
            f"give at least {cohorts * places}"
        )
    for name, value in shares.items():
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be between 0 and 1 (got {value})")
    for name, count in counts.items():
        if count is not None and count < 1:
            raise ValueError(f"{name} must be at least 1 (got {count})")
    for group in groups:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", group):
            raise ValueError(
                f"profile group {group!r} must be a lower-case column name like 'woman'"
            )


def _applicants(
    rng: random.Random,
    names: _People,
    *,
    applicants: int,
    blocks: list[list[str]],
    cohort_ids: list[str],
    council_names: list[str],
    areas: dict[str, list[str]],
    weights: dict[str, float],
    domains: dict[str, str],
    places: int,
    ineligible_share: float,
    part_time_share: float,
    profile: Mapping[str, float],
) -> list[dict[str, Any]]:
    # 1. where everyone works: a feasible core per cohort, then the rest by council size
    core, core_intake = _core(rng, blocks, areas, places)
    rest_count = applicants - len(core)
    # every council gets someone if there are enough applicants, then by council size
    covered = {c for c, _ in core}
    placed = [c for c in council_names if c not in covered][:rest_count]
    placed += rng.choices(
        council_names, weights=[weights[c] for c in council_names], k=rest_count - len(placed)
    )
    area_cum = {c: list(accumulate(SERVICE_AREAS[a] for a in areas[c])) for c in council_names}
    rest = [(c, rng.choices(areas[c], cum_weights=area_cum[c])[0]) for c in placed]
    # Fewer councils than cohorts: a council runs several intakes and each applicant applies
    # to one of them (the `cohorts` column), so intakes stay independent.
    intake: list[int | None] = [None] * applicants
    if len(council_names) < len(blocks):
        intakes_of: dict[str, list[int]] = {}
        for b, block in enumerate(blocks):
            intakes_of.setdefault(block[0], []).append(b)
        intake = [*core_intake, *(rng.choice(intakes_of[c]) for c in placed)]

    # 2. eligibility: the core is eligible; ineligible_share of all fail 1-2 rules
    n_ineligible = min(rest_count, round(ineligible_share * applicants))
    failing = [True] * n_ineligible + [False] * (rest_count - n_ineligible)
    rng.shuffle(failing)
    people = [(c, a, False, True) for c, a in core] + [
        (c, a, fail, False) for (c, a), fail in zip(rest, failing, strict=True)
    ]
    # "a few" eligible applicants were never interviewed (not_scored)
    eligible_rest = [i for i, p in enumerate(people) if not p[2] and not p[3]]
    n_unscored = (
        min(len(eligible_rest), max(1, round(0.005 * applicants))) if applicants >= 40 else 0
    )
    unscored = set(rng.sample(eligible_rest, n_unscored))
    shuffled = list(range(len(people)))
    rng.shuffle(shuffled)  # core and rest mixed, so file order says nothing

    id_width = max(3, len(str(applicants)))
    rows = []
    for number, index in enumerate(shuffled, start=1):
        council, area, fail, _ = people[index]
        chosen = intake[index]
        rows.append(
            _applicant_row(
                rng,
                names,
                applicant_id=f"A{number:0{id_width}d}",
                council=council,
                area=area,
                domain=domains[council],
                fail=fail,
                profile=profile,
                part_time_share=part_time_share,
                cohort="" if chosen is None else cohort_ids[chosen],
                scored=index not in unscored,
            )
        )
    return rows


def _core(
    rng: random.Random, blocks: list[list[str]], areas: dict[str, list[str]], places: int
) -> tuple[list[tuple[str, str]], list[int]]:
    """Each cohort's core: ``places`` (council, service area) pairs, round robin over its
    councils' areas from a random offset, and the cohort each belongs to."""
    core: list[tuple[str, str]] = []
    core_intake: list[int] = []
    for b, block in enumerate(blocks):
        offsets = {c: rng.randrange(len(areas[c])) for c in block}
        order: list[tuple[str, str]] = []
        for k in range(max(len(areas[c]) for c in block)):
            for c in block:
                if k < len(areas[c]):
                    order.append((c, areas[c][(k + offsets[c]) % len(areas[c])]))
        core.extend(order[j % len(order)] for j in range(places))
        core_intake.extend([b] * places)
    return core, core_intake


def _applicant_row(
    rng: random.Random,
    names: _People,
    *,
    applicant_id: str,
    council: str,
    area: str,
    domain: str,
    fail: bool,
    profile: Mapping[str, float],
    part_time_share: float,
    cohort: str,
    scored: bool,
) -> dict[str, Any]:
    """One applicant: the rules they fail, grade, declarations, a name that fits them,
    development needs and working days."""
    groups = list(profile)
    failed = _failed_rules(rng) if fail else set()
    if "grade" in failed:
        grade = 5 if rng.random() < 0.6 else 8
    else:
        grade = 6 if rng.random() < 0.55 else 7
    flags = _declared(rng, [profile[g] for g in groups])
    woman = (
        {"yes": True, "no": False}.get(flags[groups.index("woman")]) if "woman" in groups else None
    )
    diverse = (
        flags[groups.index("minority_ethnic")] == "yes" if "minority_ethnic" in groups else None
    )
    name = names.name(woman, diverse)
    needs = ";".join(rng.sample(ATTRIBUTES, rng.choice((2, 2, 3))))
    days = ""
    if rng.random() < part_time_share:
        days = "Mon;Tue;Wed;Thu" if rng.random() < 0.5 else "Tue;Wed;Thu;Fri"
    return {
        "id": applicant_id,
        "name": name,
        "email": names.email(name, domain),
        "council": council,
        "service_area": area,
        "grade": grade,
        "probation": "no" if "probation" in failed else "yes",
        "approved": "no" if "line_manager_approval" in failed else "yes",
        "performance": "no" if "performance" in failed else "yes",
        "line_manager_id": "",
        "groups": flags,
        "needs": needs,
        "days": days,
        "cohort": cohort,
        "low": "below_min_score" in failed,
        "scored": scored,
    }


_RULES = ("grade", "probation", "line_manager_approval", "performance", "below_min_score")
_RULE_CUM = list(accumulate((0.40, 0.20, 0.20, 0.15, 0.05)))


def _failed_rules(rng: random.Random) -> set[str]:
    """The one or (15% of the time) two eligibility rules an ineligible applicant fails."""
    failed = {rng.choices(_RULES, cum_weights=_RULE_CUM)[0]}
    if rng.random() < 0.15:
        failed.add(rng.choices(_RULES, cum_weights=_RULE_CUM)[0])
    return failed


def _declared(rng: random.Random, shares: Sequence[float]) -> list[str]:
    """One applicant's answers to the protected-characteristic questions: yes by each
    group's share, else no, or blank (not declared) 3% of the time."""
    flags = []
    for share in shares:
        if rng.random() < share:
            flags.append("yes")
        else:
            flags.append("" if rng.random() < 0.03 else "no")
    return flags


def _panel(rng: random.Random, ability: float, leniency: Sequence[float]) -> list[int]:
    """Three scores in tenths (0..100) around a latent ability."""
    return [max(0, min(100, round((ability + bias + rng.gauss(0, 0.8)) * 10))) for bias in leniency]


THRESHOLD = MIN_SCORE * 30  # a sum of three scores in tenths: mean >= MIN_SCORE exactly


def _low_marks(rng: random.Random, leniency: Sequence[float]) -> list[int]:
    """A panel's marks below the minimum mean score (redrawn, then capped, if not)."""
    ability = rng.uniform(1.5, 3.3)
    for _ in range(50):
        marks = _panel(rng, ability, leniency)
        if sum(marks) < THRESHOLD:
            return marks
    return [min(m, THRESHOLD // 3 - 1) for m in marks]


def _passing_marks(rng: random.Random, leniency: Sequence[float]) -> list[int]:
    """A panel's marks at or above the minimum mean score (redrawn, then raised, if not)."""
    ability = min(9.6, max(4.3, rng.gauss(6.4, 1.3)))
    for _ in range(50):
        marks = _panel(rng, ability, leniency)
        if sum(marks) >= THRESHOLD:
            return marks
    return [max(m, THRESHOLD // 3) for m in marks]


def _scores(
    rng: random.Random, rows: list[dict[str, Any]], *, score_ties: float
) -> list[tuple[str, str, str]]:
    leniency = [rng.uniform(-0.5, 0.5) for _ in PANELISTS]
    tenths: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        if not row["scored"]:
            continue
        tenths[i] = _low_marks(rng, leniency) if row["low"] else _passing_marks(rng, leniency)
    # exact ties: some applicants get another (appointable) applicant's three scores
    donors = [i for i in tenths if not rows[i]["low"]]
    n_ties = min(len(donors) // 2, round(score_ties * len(rows)))
    if n_ties:
        chosen = rng.sample(donors, 2 * n_ties)
        for copier, donor in zip(chosen[:n_ties], chosen[n_ties:], strict=True):
            tenths[copier] = list(tenths[donor])
    result = []
    for i, row in enumerate(rows):
        held = tenths.get(i)
        if held is None:
            continue
        for panelist, mark in zip(PANELISTS, held, strict=True):
            result.append((row["id"], panelist, f"{mark // 10}.{mark % 10}"))
    return result


def _mentors(
    rng: random.Random,
    names: _People,
    *,
    count: int,
    total_places: int,
    council_names: list[str],
    weights: dict[str, float],
    areas: dict[str, list[str]],
    domains: dict[str, str],
) -> list[CsvRow]:
    width = max(2, len(str(count)))
    council_weights = [weights[c] for c in council_names]
    capacities = [1 if rng.random() < 0.6 else 2 for _ in range(count)]
    need = math.ceil(1.3 * total_places)
    k = 0
    while sum(capacities) < need:  # round robin until 1.3 x places are covered
        capacities[k % count] += 1
        k += 1
    rows = []
    for i in range(count):
        name = names.name(rng.random() < 0.5)
        if rng.random() < 0.08:
            council, domain, area = rng.choice(_EXTERNAL_ORGS)
        else:
            council = rng.choices(council_names, weights=council_weights)[0]
            domain, area = domains[council], rng.choice(areas[council])
        grade = rng.choices((9, 10, 11, 12), weights=(0.35, 0.30, 0.20, 0.15))[0]
        expertise = ";".join(rng.sample(ATTRIBUTES, rng.choice((3, 3, 4))))
        rows.append(
            (
                f"M{i + 1:0{width}d}",
                name,
                names.email(name, domain),
                council,
                area,
                grade,
                capacities[i],
                expertise,
            )
        )
    return rows


def _coach_shortfall(
    capacity: list[int],
    scope: list[int | None],
    blocks: list[list[str]],
    places: int,
    max_per_council: int | None,
) -> bool:
    """Whether the coaches fall short of Hall's condition with slack or of the council cover."""
    dedicated = [0] * len(blocks)
    for k, s in enumerate(scope):
        if s is not None:
            dedicated[s] += capacity[k]
    shared = sum(c for c, s in zip(capacity, scope, strict=True) if s is None)
    # Hall's condition with 20% slack: what cohort coaches cannot cover, shared ones must
    if sum(max(0, math.ceil(1.2 * places) - d) for d in dedicated) > shared:
        return True
    # every council served by >= 1.5 x the places it can take
    council_places: dict[str, int] = {}
    served: dict[str, int] = {}
    for b, block in enumerate(blocks):
        for c in block:
            council_places[c] = council_places.get(c, 0) + min(places, max_per_council or places)
            served[c] = served.get(c, 0) + dedicated[b]
    return any(served[c] + shared < 1.5 * council_places[c] for c in council_places)


def _top_up_coaches(
    capacity: list[int],
    scope: list[int | None],
    blocks: list[list[str]],
    places: int,
    max_per_council: int | None,
) -> None:
    """Raise shared coaches' capacity, then share cohort coaches, until nothing falls short
    (in place; no random draws, so the bytes after it do not depend on how often it loops)."""
    count = len(capacity)
    while _coach_shortfall(capacity, scope, blocks, places, max_per_council):
        low = [k for k, s in enumerate(scope) if s is None and capacity[k] < 8]
        if low:
            capacity[min(low, key=lambda k: (capacity[k], k))] += 1
            continue
        dedicated_coaches = [k for k, s in enumerate(scope) if s is not None]
        if dedicated_coaches:
            scope[dedicated_coaches[-1]] = None
            continue
        capacity[min(range(count), key=lambda k: (capacity[k], k))] += 1


def _coaches(
    rng: random.Random,
    names: _People,
    *,
    count: int,
    blocks: list[list[str]],
    places: int,
    max_per_council: int | None,
    domains: dict[str, str],
    councils: int,
) -> list[CsvRow]:
    cohorts = len(blocks)
    capacity = [rng.randint(6, 8) for _ in range(count)]
    # scope: a cohort index (serves that cohort's councils) or None (serves everyone)
    if cohorts == 1:
        scope: list[int | None] = [
            0 if councils <= 3 and rng.random() < 0.5 else None for _ in range(count)
        ]
    else:
        scope = [rng.randrange(cohorts) if rng.random() < 0.5 else None for _ in range(count)]

    _top_up_coaches(capacity, scope, blocks, places, max_per_council)

    width = max(2, len(str(count)))
    rows = []
    for k in range(count):
        name = names.name()
        mine = scope[k]
        if mine is not None and rng.random() < 0.7:
            domain = domains[rng.choice(blocks[mine])]  # an in-house coach
        else:
            domain = rng.choice(_COACHING_FIRMS)
        expertise = ";".join(rng.sample(ATTRIBUTES, rng.choice((3, 4, 5))))
        served = "" if mine is None else ";".join(blocks[mine])
        days = "Mon;Tue;Wed;Thu" if rng.random() < 0.15 else ""
        rows.append(
            (
                f"CO{k + 1:0{width}d}",
                name,
                names.email(name, domain),
                capacity[k],
                expertise,
                served,
                days,
            )
        )
    return rows


_HUB_VENUES = (
    "Regional Learning Centre",
    "County Showground Conference Suite",
    "Enterprise Hub",
    "Leadership Academy",
    "Innovation Centre",
    "Conference and Training Centre",
)
_BUILDINGS = ("Civic Centre", "Town Hall", "Council House", "Civic Offices")
_ROOMS = (
    "Council Chamber",
    "Committee Room 1",
    "Committee Room 2",
    "Training Suite",
    "Learning Room",
)


def _venues(
    rng: random.Random, *, count: int, council_names: list[str], places: int
) -> list[CsvRow]:
    width = max(2, len(str(count)))
    low = max(14, places + 4)  # a cohort, its facilitator and three CMT members
    high = max(40, low)
    shared = max(1, math.ceil(count / 2))  # at least half serve every cohort
    used: dict[str, int] = {}
    rows = []
    for k in range(count):
        if k < shared:
            council = ""
            name = f"{rng.choice(_HUB_VENUES)} - Room {rng.randint(1, 6)}"
        else:
            council = rng.choice(council_names)
            name = f"{_place(council)} {rng.choice(_BUILDINGS)} - {rng.choice(_ROOMS)}"
        used[name] = used.get(name, 0) + 1
        if used[name] > 1:
            name = f"{name} ({used[name]})"
        rows.append((f"V{k + 1:0{width}d}", name, rng.randint(low, high), council))
    return rows


# `after` chains across kinds and people in a month: coaching follows that month's workshop,
# the review follows that month's coaching.
_AFTER_CHAINS = {
    "C2": "W03",
    "R-LM1": "C2",
    "C3": "W05",
    "C4": "W07",
    "C5": "W09",
    "R-HOS1": "C5",
}


def _programme(months: int, after_chains: bool) -> list[list[str]]:
    """programme.csv's header and rows: the seed's plan, cut to ``months`` or stretched over
    them (a session of month m moves to 1 + round((m - 1)(months - 1) / 18))."""
    header, *plan = csv.reader(_PROGRAMME_CSV.splitlines())
    last = max(int(row[3]) for row in plan)
    out = []
    for row in plan:
        month = int(row[3])
        if months > last:
            row[3] = str(1 + round((month - 1) * (months - 1) / (last - 1)))
        elif month > months:
            continue
        if after_chains and row[0] in _AFTER_CHAINS:
            row[7] = _AFTER_CHAINS[row[0]]
        out.append(row)
    return [header, *out]


def _unavailability(
    rng: random.Random,
    person_ids: list[str],
    venue_ids: list[str],
    share: float,
    end: date = PROGRAMME_END,
) -> list[tuple[str, str, str]]:
    span = (end - PROGRAMME_START).days
    chosen = rng.sample(person_ids, round(share * len(person_ids)))
    chosen += rng.sample(venue_ids, round(share * len(venue_ids)))
    rows = []
    for who in chosen:
        start = _weekday_on_or_after(PROGRAMME_START + timedelta(days=rng.randrange(span - 7)))
        kind = rng.random()
        if kind < 0.5:  # a week's leave
            monday = start - timedelta(days=start.weekday())
            monday = max(monday, PROGRAMME_START)
            rows.append((who, monday.isoformat(), (monday + timedelta(days=4)).isoformat()))
        elif kind < 0.9:  # a few days, within one working week
            end = min(
                start + timedelta(days=rng.randint(1, 3)),
                start + timedelta(days=4 - start.weekday()),
            )
            rows.append((who, start.isoformat(), end.isoformat()))
        else:  # an afternoon
            rows.append((who, f"{start.isoformat()}T13:00", f"{start.isoformat()}T17:00"))
    return rows


def _conflicts(
    rng: random.Random, rows: list[dict[str, Any]], mentors: list[CsvRow], coaches: list[CsvRow]
) -> list[tuple[str, str]]:
    """About 1% of applicants declare a conflict with a mentor (same council if possible) or a coach."""
    by_council: dict[str, list[str]] = {}
    for m in mentors:
        by_council.setdefault(m[3], []).append(m[0])
    count = max(1, round(0.01 * len(rows)))
    result = []
    for i in sorted(rng.sample(range(len(rows)), min(count, len(rows)))):
        row = rows[i]
        if rng.random() < 0.7:
            pool = by_council.get(row["council"]) or [m[0] for m in mentors]
            result.append((rng.choice(pool), row["id"]))
        else:
            result.append((rng.choice(coaches)[0], row["id"]))
    return result


def _scenario_toml(
    *,
    council_names: list[str],
    blocks: list[list[str]],
    cohort_ids: list[str],
    places: int,
    seed: int,
    profile: Mapping[str, float],
    max_per_council: int | None,
    applicants: int,
    group_weekdays: Sequence[str] = ("Tue", "Wed", "Thu"),
) -> str:
    single = len(council_names) == 1
    lead = council_names[0]
    name = (
        "Aspiring Managers' Programme 2024"
        if single
        else "Regional Aspiring Managers' Programme 2024"
    )
    organisation = lead if single else f"{lead} for a consortium of {len(council_names)} councils"
    lines = [
        f"# Synthetic scenario: {len(council_names)} councils, {applicants} applicants, "
        f"{len(cohort_ids)} cohort(s) of {places}, seed {seed}.",
        "# Written by cohort_solver generate; every person, score and date is invented.",
        "",
        "[programme]",
        f"name = {_toml_str(name)}",
        f"organisation = {_toml_str(organisation)}",
        f'start = "{PROGRAMME_START.isoformat()}"',
        'timezone = "Europe/London"',
        'holidays = "GB-ENG"',
        "",
        "[selection]",
        f"places = {places}",
        "eligible_grades = [6, 7]",
        'aggregate = "mean"',
        f"min_score = {MIN_SCORE}",
        f"seed = {seed}",
        "reserves = 4",
        "",
    ]
    if profile:
        lines += [
            "[[selection.ring_fence]]",
            'name = "under-represented"',
            f"groups = {_toml_list(profile)}",
            "min_share = 0.75",
            'unfilled = "release"',
            "",
        ]
    lines += [
        "[selection.spread]",
        "max_per_service_area = 2",
        f"min_service_areas = {min(4, places)}",
    ]
    if max_per_council is not None:
        lines.append(f"max_per_council = {max_per_council}")
    lines.append("")
    if profile:
        lines += [
            "[positive_action]",
            'basis = "s158"',
            'evidence = "Consortium workforce profile: women, minority ethnic and disabled employees are under-represented in senior roles relative to the workforce"',
            "[positive_action.profile]",
        ]
        for group, share in profile.items():
            senior = _SENIOR.get(group, round(share * 0.5, 4))
            lines.append(f"{group} = {{ workforce = {_share(share)}, senior = {_share(senior)} }}")
        lines.append("")
    if len(cohort_ids) > 1:
        for cohort_id, block in zip(cohort_ids, blocks, strict=True):
            lines += ["[[cohorts]]", f'id = "{cohort_id}"', f"councils = {_toml_list(block)}", ""]
    lines += [
        "[matching]",
        "mentor_min_grade_gap = 2",
        "exclude_same_service_area = true",
        'fairness = "utilitarian"',
        "[matching.weights]",
        "needs = 10",
        "other_council = 3",
        "other_service_area = 2",
        "",
        "[calendar]",
        'day_start = "09:00"',
        'day_end = "17:00"',
        "slot_minutes = 30",
        f"group_weekdays = {_toml_list(group_weekdays)}",
        "min_days_between_group_sessions = 14",
    ]
    return "\n".join(lines) + "\n"
