"""Rasa graph components of the Chinese NLU pipeline.

Order in config.yml: TraditionalToSimplified -> DomainJiebaTokenizer -> featurizers -> DIET ->
EntitySynonymMapper -> EntityNormalizer. Rasa imports this module by the dotted names in the
config, which registers the classes with the default recipe.
"""

from __future__ import annotations

import hashlib
import logging
from itertools import pairwise
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import clock
from bot.nlu.entities import extract_entities, protected_spans
from bot.nlu.hardship import (
    HARDSHIP_REASONS,
    classify_hardship_reason,
    find_hardship_reason,
)
from bot.nlu.numbers import parse_amount, parse_date, parse_months, parse_plan_choice
from bot.nlu.numerals import as_int_if_whole
from bot.nlu.script import detect_script, detect_variant, to_simplified

logger = logging.getLogger(__name__)

NLU_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = NLU_DIR.parents[1]
DEFAULT_DICTIONARY = NLU_DIR / "dictionary"
SCRIPT_ATTRIBUTE = "script"
SCRIPT_ENTITY = "script"
VARIANT_ATTRIBUTE = "script_variant"
VARIANT_ROLE = "variant"  # a script entity with this role fills the script_variant slot
NUMERIC_ENTITIES = ("amount", "months", "plan_choice", "date")
HARDSHIP_ENTITY = "hardship_reason"


def _source_fingerprint(*extra: Path) -> str:
    """Hash of the NLU code, data and dictionaries, so edits invalidate Rasa's cache."""
    digest = hashlib.sha256()
    files = sorted(NLU_DIR.glob("*.py")) + sorted(NLU_DIR.glob("data/*"))
    for path in [*files, *extra]:
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _is_lookup_message(message: Message) -> bool:
    """Core featurization messages carry only their text, which is also their lookup key.

    Rasa's policy featurization finds precomputed features by the tracker's original text,
    so such a message must keep its text (the tokenizer still works on Simplified).
    """
    return set(message.data) == {TEXT}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TraditionalToSimplified(GraphComponent):
    """Converts message text to Simplified Chinese and records the cardholder's script.

    Registered as a featurizer because that is the only non-classifier type the default
    recipe runs in config order before the tokenizer, in training and at inference.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """``add_script_entity``: emit the ``script`` entity for dialogue slots."""
        return {"add_script_entity": True}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TraditionalToSimplified:
        """Creates the component (it has nothing to train or persist)."""
        return cls(config)

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when the conversion code changes."""
        return _source_fingerprint()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Simplifies examples, entity values, synonyms, lookup tables and regexes."""
        for example in training_data.training_examples:
            if _is_lookup_message(example):
                continue
            text = example.get(TEXT)
            if isinstance(text, str):
                example.set(TEXT, to_simplified(text))
            for entity in example.get(ENTITIES) or []:
                if isinstance(entity.get("value"), str):
                    entity["value"] = to_simplified(entity["value"])
        synonyms = training_data.entity_synonyms
        for key, value in list(synonyms.items()):
            synonyms.setdefault(to_simplified(key), value)
        for table in training_data.lookup_tables:
            elements = table.get("elements")
            if isinstance(elements, list):
                extra = [to_simplified(e) for e in elements if isinstance(e, str)]
                table["elements"] = list(dict.fromkeys([*elements, *extra]))
        for regex in training_data.regex_features:
            if isinstance(regex.get("pattern"), str):
                regex["pattern"] = to_simplified(regex["pattern"])
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Simplifies the text and sets the ``script`` attribute (and entity)."""
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text or _is_lookup_message(message):
                continue
            try:
                script = detect_script(text)
                variant = detect_variant(text)
                message.set(TEXT, to_simplified(text))
            except Exception:  # never lose a message over conversion
                logger.exception("Could not convert message text to Simplified.")
                continue
            if variant is not None:
                message.set(VARIANT_ATTRIBUTE, variant)
            if script is None:
                continue
            message.set(SCRIPT_ATTRIBUTE, script)
            if self._config.get("add_script_entity", True):
                entities = list(message.get(ENTITIES) or [])
                entities.append(script_entity(script, type(self).__name__))
                if variant is not None:
                    entities.append(variant_entity(variant, type(self).__name__))
                message.set(ENTITIES, entities, add_to_output=True)
        return messages


def variant_entity(variant: str, extractor: str) -> dict[str, Any]:
    """The zero-width entity that tells which Traditional readers write (hk/tw, bot/nlg.py)."""
    return {**script_entity(variant, extractor), "role": VARIANT_ROLE}


def script_entity(script: str, extractor: str) -> dict[str, Any]:
    """The zero-width entity that tells the dialogue which script the user writes."""
    return {
        "entity": SCRIPT_ENTITY,
        "value": script,
        "start": 0,
        "end": 0,
        "extractor": extractor,
    }


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class DomainJiebaTokenizer(JiebaTokenizer):
    """Jieba with the domain dictionary, whole-token numerals and entity-aligned cuts.

    Numeric, date and plan expressions (三千五块, 12期, 下个月5号, 第二个) become single
    tokens so entity spans match token boundaries; in training, annotated entity
    boundaries are always token boundaries, so no annotation is dropped as misaligned.
    Tokens carry Simplified text whatever the message's script.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Jieba defaults, with the bundled domain dictionary."""
        return {
            **JiebaTokenizer.get_default_config(),
            "dictionary_path": str(DEFAULT_DICTIONARY),
        }

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DomainJiebaTokenizer:
        """Loads the dictionary, found even when rasa runs outside the project root."""
        resolved = {**config, "dictionary_path": str(resolve_dictionary(config))}
        return super().create(resolved, model_storage, resource, execution_context)

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retokenise when the dictionary or the expression rules change."""
        dictionary = resolve_dictionary(config)
        files = sorted(dictionary.glob("*")) if dictionary.is_dir() else []
        return _source_fingerprint(*files)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Tokenizes the attribute's text (see class docstring)."""
        text = message.get(attribute)
        if not isinstance(text, str) or not text:
            return []
        simplified = to_simplified(text)
        boundaries = _entity_boundaries(message, len(text)) if attribute == TEXT else []
        spans = _split_at(_cut(simplified), boundaries)
        tokens = [
            Token(simplified[start:end], start)
            for start, end in spans
            if simplified[start:end].strip()
        ]
        return self._apply_token_pattern(tokens)


def resolve_dictionary(config: dict[str, Any]) -> Path:
    """The configured dictionary directory; a relative path may be relative to the project.

    A missing directory would silently tokenise without the domain terms, so it fails.
    """
    configured = Path(config.get("dictionary_path") or DEFAULT_DICTIONARY)
    candidates = [configured]
    if not configured.is_absolute():
        candidates.append(PROJECT_ROOT / configured)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    raise FileNotFoundError(f"jieba dictionary directory not found: {configured}")


def _cut(text: str) -> list[tuple]:
    """(start, end) of tokens: protected expressions whole, jieba for the rest."""
    import jieba

    spans: list[tuple] = []
    position = 0
    for start, end in [*protected_spans(text), (len(text), len(text))]:
        if start > position:
            segment = text[position:start]
            spans.extend((position + s, position + e) for _, s, e in jieba.tokenize(segment))
        if end > start:
            spans.append((start, end))
        position = max(position, end)
    return spans


def _entity_boundaries(message: Message, length: int) -> list[int]:
    bounds = set()
    for entity in message.get(ENTITIES) or []:
        start, end = entity.get("start"), entity.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= length:
            bounds.update((start, end))
    return sorted(bounds)


def _split_at(spans: list[tuple], boundaries: list[int]) -> list[tuple]:
    """Split any token that a boundary falls inside."""
    if not boundaries:
        return spans
    result = []
    for start, end in spans:
        cuts = [b for b in boundaries if start < b < end]
        edges = [start, *cuts, end]
        result.extend(pairwise(edges))
    return result


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class EntityNormalizer(GraphComponent, EntityExtractorMixin):
    """Turns DIET's amount/months/plan_choice/date/hardship spans into normalised values.

    Fixes partial spans with the rule-based scanner, drops numeric entities that do not
    parse, adds scanner entities DIET missed, and keeps the ``script`` entity.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """``add_missing``: add scanner entities DIET missed; ``hardship_intents``:
        intents for which a hardship phrase found by keyword becomes an entity."""
        return {"add_missing": True, "hardship_intents": ["inform_hardship"]}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntityNormalizer:
        """Creates the component (rule-based, nothing to train)."""
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        """Normalises each message's entities; a failure leaves the message unchanged."""
        for message in messages:
            try:
                entities = self._normalised_entities(message)
            except Exception:
                logger.exception("Entity normalisation failed; entities left as they were.")
                continue
            message.set(ENTITIES, entities, add_to_output=True)
        return messages

    def _normalised_entities(self, message: Message) -> list[dict[str, Any]]:
        text = message.get(TEXT) or ""
        if not isinstance(text, str):
            text = ""
        scanned = extract_entities(text, clock.today()) if text else []
        kept: list[dict[str, Any]] = []
        for entity in message.get(ENTITIES) or []:
            normalised = self._normalise(entity, text, scanned)
            if normalised is None:
                logger.debug("Dropped entity %s: no normalised value.", entity)
            elif not any(
                _same_span(normalised, other) or _overlaps(normalised, other) for other in kept
            ):
                kept.append(normalised)
        if self._config.get("add_missing", True):
            for found in scanned:
                if not any(_overlaps(found, other) for other in kept):
                    kept.append({**found, "extractor": self.name})
        self._add_hardship_from_keywords(message, text, kept)
        script = message.get(SCRIPT_ATTRIBUTE)
        if script and not any(e.get("entity") == SCRIPT_ENTITY and not e.get("role") for e in kept):
            kept.append(script_entity(script, TraditionalToSimplified.__name__))
        variant = message.get(VARIANT_ATTRIBUTE)
        if variant and not any(e.get("role") == VARIANT_ROLE for e in kept):
            kept.append(variant_entity(variant, TraditionalToSimplified.__name__))
        return sorted(kept, key=lambda e: (_int(e.get("start")), _int(e.get("end"))))

    def _normalise(
        self, entity: dict[str, Any], text: str, scanned: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        kind = entity.get("entity")
        if kind in NUMERIC_ENTITIES:
            return self._normalise_numeric(entity, text, scanned)
        if kind == HARDSHIP_ENTITY:
            return self._normalise_hardship(entity, text)
        return entity

    def _normalise_numeric(
        self, entity: dict[str, Any], text: str, scanned: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        overlapping = [s for s in scanned if _overlaps(s, entity)]
        if overlapping:
            # The scanner's span covers the whole expression and its type comes from
            # explicit units (12期 is months even if DIET said amount).
            same_kind = [s for s in overlapping if s["entity"] == entity["entity"]]
            best = max(same_kind or overlapping, key=lambda s: _overlap(s, entity))
            return self._processed(entity, best)
        value = _parse(entity, text)
        if value is None:
            return None
        return self._processed(entity, {"value": value})

    def _normalise_hardship(self, entity: dict[str, Any], text: str) -> dict[str, Any] | None:
        value = entity.get("value")
        if isinstance(value, str) and value in HARDSHIP_REASONS:
            return entity
        reason = classify_hardship_reason(str(value)) if value is not None else None
        if reason is None:
            reason = classify_hardship_reason(_span_text(entity, text))
        if reason is None:
            return None
        return self._processed(entity, {"value": reason})

    def _processed(self, entity: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """A changed copy of ``entity`` naming this component among its processors."""
        processors = entity.get("processors")
        updated = {**entity, **changes, "processors": list(processors or [])}
        return self.add_processor_name(updated)

    def _add_hardship_from_keywords(
        self, message: Message, text: str, kept: list[dict[str, Any]]
    ) -> None:
        intent = message.get(INTENT)
        if isinstance(intent, dict):
            intent = intent.get("name")
        if intent not in (self._config.get("hardship_intents") or []):
            return
        if any(e.get("entity") == HARDSHIP_ENTITY for e in kept):
            return
        found = find_hardship_reason(text)
        if found is None:
            return
        candidate = {
            "entity": HARDSHIP_ENTITY,
            "value": found.reason,
            "start": found.start,
            "end": found.end,
            "extractor": self.name,
        }
        if not any(_overlaps(candidate, other) for other in kept):
            kept.append(candidate)


_PARSERS = {
    "amount": lambda text: _maybe(parse_amount(text), as_int_if_whole),
    "months": parse_months,
    "plan_choice": parse_plan_choice,
    "date": lambda text: _maybe(parse_date(text, clock.today()), lambda d: d.isoformat()),
}


def _maybe(value: Any, convert: Any) -> Any:
    return None if value is None else convert(value)


def _parse(entity: dict[str, Any], text: str) -> Any:
    parser = _PARSERS[entity["entity"]]
    for candidate in (_span_text(entity, text), entity.get("value")):
        if candidate is None or candidate == "":
            continue
        value = parser(str(candidate))
        if value is not None:
            return value
    return None


def _span_text(entity: dict[str, Any], text: str) -> str:
    start, end = entity.get("start"), entity.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
        return text[start:end]
    return ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> int:
    return min(_int(a.get("end")), _int(b.get("end"))) - max(
        _int(a.get("start")), _int(b.get("start"))
    )


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when two entities share a character (zero-width entities share none)."""
    return _overlap(a, b) > 0


def _same_span(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a.get("entity"), a.get("start"), a.get("end")) == (
        b.get("entity"),
        b.get("start"),
        b.get("end"),
    )
