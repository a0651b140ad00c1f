"""The Rasa components of bot.nlu.components, run directly on Rasa messages (no trained model)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT, TEXT_TOKENS
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import components
from bot.nlu.components import DomainJiebaTokenizer, EntityNormalizer, TraditionalToSimplified

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTEXT = ExecutionContext(GraphSchema({}), "test")


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TODAY", "2026-11-22")


@pytest.fixture(scope="module")
def converter() -> TraditionalToSimplified:
    config = TraditionalToSimplified.get_default_config()
    return TraditionalToSimplified.create(config, None, None, CONTEXT)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tokenizer() -> DomainJiebaTokenizer:
    config = DomainJiebaTokenizer.get_default_config()
    return DomainJiebaTokenizer.create(config, None, None, CONTEXT)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def normalizer() -> EntityNormalizer:
    config = EntityNormalizer.get_default_config()
    return EntityNormalizer.create(config, None, None, CONTEXT)  # type: ignore[arg-type]


def user_message(text: str, **data: Any) -> Message:
    """A message as Rasa's NLUMessageConverter builds it from a user turn."""
    return Message(data={TEXT: text, "message_id": "m1", "metadata": {}, **data})


def token_texts(message: Message) -> list[str]:
    return [token.text for token in message.get(TEXT_TOKENS)]


# --- TraditionalToSimplified --------------------------------------------------------------


def test_converts_traditional_text_and_reports_the_script(
    converter: TraditionalToSimplified,
) -> None:
    message = user_message("我下個月5號還三千五塊")
    converter.process([message])
    assert message.get(TEXT) == "我下个月5号还三千五块"
    assert message.get(components.SCRIPT_ATTRIBUTE) == "traditional"
    assert message.get(ENTITIES) == [
        {
            "entity": "script",
            "value": "traditional",
            "start": 0,
            "end": 0,
            "extractor": "TraditionalToSimplified",
        }
    ]
    assert "entities" in message.as_dict(only_output_properties=True)


def test_simplified_text_is_reported_and_neutral_text_is_not(
    converter: TraditionalToSimplified,
) -> None:
    simplified, neutral = user_message("我想办理分期"), user_message("6217")
    converter.process([simplified, neutral])
    assert simplified.get(ENTITIES)[0]["value"] == "simplified"
    assert simplified.get(TEXT) == "我想办理分期"
    assert neutral.get(ENTITIES) is None
    assert neutral.get(components.SCRIPT_ATTRIBUTE) is None


def test_policy_lookup_messages_keep_their_text(converter: TraditionalToSimplified) -> None:
    # Rasa's policy featurization looks these messages up by the tracker's original text.
    lookup = Message(data={TEXT: "我想辦理分期"})
    converter.process([lookup])
    assert lookup.get(TEXT) == "我想辦理分期"
    assert lookup.get(ENTITIES) is None


def test_script_entity_can_be_switched_off() -> None:
    config = {**TraditionalToSimplified.get_default_config(), "add_script_entity": False}
    converter = TraditionalToSimplified.create(config, None, None, CONTEXT)  # type: ignore[arg-type]
    message = user_message("謝謝")
    converter.process([message])
    assert message.get(TEXT) == "谢谢"
    assert message.get(ENTITIES) is None
    assert message.get(components.SCRIPT_ATTRIBUTE) == "traditional"


def test_training_data_is_simplified_without_script_entities(
    converter: TraditionalToSimplified,
) -> None:
    data = RasaYAMLReader().reads(
        """
version: "3.1"
nlu:
- intent: inform_hardship
  examples: |
    - 我[被裁員](hardship_reason)了
    - 我[失業]{"entity": "hardship_reason", "value": "失業"}了
- synonym: unemployment
  examples: |
    - 下崗
- lookup: bank
  examples: |
    - 中國銀行
- regex: card_tail
  examples: |
    - 尾號\\d{4}
"""
    )
    converter.process_training_data(data)
    first, second = data.training_examples
    assert first.get(TEXT) == "我被裁员了"
    assert first.get(ENTITIES) == [
        {"start": 1, "end": 4, "value": "被裁员", "entity": "hardship_reason"}
    ]
    assert second.get(ENTITIES)[0]["value"] == "失业"
    assert data.entity_synonyms["下岗"] == "unemployment"
    assert data.entity_synonyms["下崗"] == "unemployment"
    assert set(data.lookup_tables[0]["elements"]) == {"中國銀行", "中国银行"}
    assert data.regex_features[0]["pattern"] == "尾号\\d{4}"


# --- DomainJiebaTokenizer -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("我下个月5号还三千五块", ["我", "下个月5号", "还", "三千五块"]),
        ("能不能分12期", ["能", "不能", "分", "12期"]),
        ("我想还两千块钱", ["我", "想", "还", "两千块钱"]),
        ("我要第二个方案", ["我要", "第二个", "方案"]),
        ("我想办停息挂账", ["我", "想", "办", "停息挂账"]),
        ("个性化分期会不会上征信", ["个性化分期", "会", "不会", "上征信"]),
        ("我 想 还 2000 块", ["我", "想", "还", "2000 块"]),  # spaces are not tokens
    ],
)
def test_tokens_keep_expressions_and_domain_terms_whole(
    tokenizer: DomainJiebaTokenizer, text: str, tokens: list[str]
) -> None:
    message = user_message(text)
    tokenizer.process([message])
    assert token_texts(message) == tokens


def test_tokens_are_simplified_with_original_offsets(tokenizer: DomainJiebaTokenizer) -> None:
    message = Message(data={TEXT: "我下個月5號還三千五塊"})  # e.g. a policy lookup message
    tokenizer.process([message])
    tokens = message.get(TEXT_TOKENS)
    assert [t.text for t in tokens] == ["我", "下个月5号", "还", "三千五块"]
    assert [(t.start, t.end) for t in tokens] == [(0, 1), (1, 6), (6, 7), (7, 11)]


def test_long_and_odd_messages_tokenize(tokenizer: DomainJiebaTokenizer) -> None:
    long, emoji, empty = user_message("还三千五块" * 1000), user_message("😀😀👍"), user_message("")
    tokenizer.process([long, emoji, empty])
    assert len(long.get(TEXT_TOKENS)) == 2000
    assert token_texts(emoji)
    assert empty.get(TEXT_TOKENS) == []


# Annotated the way the training-data writers annotate (see the task's span convention).
ANNOTATED = """
version: "3.1"
nlu:
- intent: promise_to_pay
  examples: |
    - 我[下个月5号](date)还[三千五块](amount)
    - [明天](date)先还[两千](amount)
    - [15号](date)我还[5000元](amount)
    - [月底](date)之前还[1.5万](amount)
    - [下周五](date)还[2k](amount)可以吗
    - [12月15日](date)一定还[¥3000](amount)
    - 我[后天](date)还[两千块钱](amount)
    - [十五号](date)还[一万二](amount)
    - 我[下個月5號](date)還[三千五塊](amount)
    - [周五](date)能还[800块](amount)
    - [这周五](date)还你们[三百五十元](amount)
    - 我[下个月底](date)前还[1万2](amount)
    - [2026-12-05](date)前还[3千5](amount)
    - [12月5号](date)还[五千多块](amount)
    - 先还[一块五](amount)试试
    - 我最多还[两千块](amount)
- intent: request_installment
  examples: |
    - 能不能分[12期](months)
    - 我想分[两年](months)还
    - 能办[一年半](months)的分期吗
    - 分[三个月](months)行不行
    - [半年](months)能还清
    - 我想分[6个月](months)
    - 可以分[24期](months)吗
    - 我想分[两年三个月](months)
    - 办个[36期](months)的个性化分期
    - 我想辦理[十二期](months)
- intent: request_deferral
  examples: |
    - 能不能推迟[一个月](months)还
    - 延期[两个月](months)可以吗
    - 宽限我[半年](months)吧
- intent: choose_plan
  examples: |
    - 我要[第二个](plan_choice)
    - [方案三](plan_choice)吧
    - 选[第1个](plan_choice)
    - [2号方案](plan_choice)
    - 就[第一个](plan_choice)方案吧
    - 我选[方案二](plan_choice)
    - [第三种](plan_choice)比较好
    - 我要[第二個](plan_choice)
- intent: inform_hardship
  examples: |
    - 我[被裁员](hardship_reason)了
    - 最近[失业](hardship_reason)了
    - 我[住院](hardship_reason)了
    - [生意亏了](hardship_reason)
    - 公司[降薪](hardship_reason)了
    - [家里出事](hardship_reason)了
    - 欠了好多[网贷](hardship_reason)
    - 老家发[洪水](hardship_reason)了
    - 我[被裁員](hardship_reason)了沒錢還
    - 我[失业](hardship_reason)[三个月](months)了
- intent: inform_income
  examples: |
    - 我一个月赚[五千](amount)
    - 工资[2k](amount)
    - 每月收入[三千五](amount)左右
    - 每月房租[一千五](amount)
"""


def _annotated_examples() -> list[Message]:
    return RasaYAMLReader().reads(ANNOTATED).training_examples


def _misaligned(message: Message) -> list[dict[str, Any]]:
    starts = {token.start for token in message.get(TEXT_TOKENS)}
    ends = {token.end for token in message.get(TEXT_TOKENS)}
    return [
        entity
        for entity in message.get(ENTITIES) or []
        if entity["start"] not in starts or entity["end"] not in ends
    ]


def test_annotated_spans_align_with_inference_tokens(
    converter: TraditionalToSimplified, tokenizer: DomainJiebaTokenizer
) -> None:
    # Tokenised WITHOUT the annotations (as at inference): the expression rules alone must
    # put token boundaries where the convention puts entity boundaries.
    misaligned = []
    for example in _annotated_examples():
        bare = user_message(example.get(TEXT))
        converter.process([bare])
        tokenizer.process([bare])
        bare.set(ENTITIES, example.get(ENTITIES) or [])
        if _misaligned(bare):
            misaligned.append((example.get(TEXT), token_texts(bare)))
    assert misaligned == []


def test_training_tokenization_passes_rasas_alignment_check(
    converter: TraditionalToSimplified, tokenizer: DomainJiebaTokenizer
) -> None:
    data = TrainingData(training_examples=_annotated_examples())
    # off-convention annotations: unit left out, verb included, a part of a word
    extra = RasaYAMLReader().reads(
        """
version: "3.1"
nlu:
- intent: promise_to_pay
  examples: |
    - 我还[三千五](amount)块
    - [还2000](amount)吧
    - 我[裁员](hardship_reason)了
"""
    )
    data = data.merge(extra)
    converter.process_training_data(data)
    tokenizer.process_training_data(data)
    assert len(data.entity_examples) > 50
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        EntityExtractorMixin.check_correct_entity_annotations(data)
    assert [str(w.message) for w in caught if "Misaligned" in str(w.message)] == []
    assert all(not _misaligned(example) for example in data.entity_examples)


def test_dictionary_is_persisted_and_loaded_from_the_model(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("tokenizer")
    config = DomainJiebaTokenizer.get_default_config()
    trained = DomainJiebaTokenizer.create(config, storage, resource, CONTEXT)
    trained.train(TrainingData())
    with storage.read_from(resource) as directory:
        assert (directory / "domain.txt").is_file()
    loaded = DomainJiebaTokenizer.load(config, storage, resource, CONTEXT)
    message = user_message("我想申请个性化分期")
    loaded.process([message])
    assert "个性化分期" in token_texts(message)


def test_fingerprint_follows_the_dictionary(tmp_path: Path) -> None:
    dictionary = tmp_path / "dictionary"
    dictionary.mkdir()
    (dictionary / "domain.txt").write_text("停息挂账 3000 nz\n", encoding="utf-8")
    config = {"dictionary_path": str(dictionary)}
    before = DomainJiebaTokenizer.fingerprint_addon(config)
    assert DomainJiebaTokenizer.fingerprint_addon(config) == before
    (dictionary / "domain.txt").write_text("停息挂账 3000 nz\n征信 3000 n\n", encoding="utf-8")
    assert DomainJiebaTokenizer.fingerprint_addon(config) != before


def test_relative_dictionary_path_works_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = {**DomainJiebaTokenizer.get_default_config(), "dictionary_path": "bot/nlu/dictionary"}
    assert components.resolve_dictionary(config) == components.DEFAULT_DICTIONARY
    with pytest.raises(FileNotFoundError):
        components.resolve_dictionary({"dictionary_path": "no/such/dictionary"})


# --- EntityNormalizer ---------------------------------------------------------------------


def diet(entity: str, text: str, fragment: str, value: Any = None) -> dict[str, Any]:
    """An entity as DIET reports it: span, raw value, extractor and confidence."""
    start = text.index(fragment)
    return {
        "entity": entity,
        "start": start,
        "end": start + len(fragment),
        "value": fragment if value is None else value,
        "extractor": "DIETClassifier",
        "confidence_entity": 0.9,
    }


def normalise(
    normalizer: EntityNormalizer,
    text: str,
    entities: list[dict[str, Any]],
    intent: str = "promise_to_pay",
    **data: Any,
) -> list[dict[str, Any]]:
    message = user_message(text, **data)
    message.set(ENTITIES, entities)
    message.set(INTENT, {"name": intent, "confidence": 0.9})
    normalizer.process([message])
    return message.get(ENTITIES)


def summary(entities: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["entity"], e["value"], e["start"], e["end"], e["extractor"]) for e in entities]


def test_values_are_normalised(normalizer: EntityNormalizer) -> None:
    text = "我下个月5号还三千五块"
    result = normalise(
        normalizer, text, [diet("date", text, "下个月5号"), diet("amount", text, "三千五块")]
    )
    assert summary(result) == [
        ("date", "2026-12-05", 1, 6, "DIETClassifier"),
        ("amount", 3500, 7, 11, "DIETClassifier"),
    ]
    assert all(e["processors"] == ["EntityNormalizer"] for e in result)
    assert result[1]["confidence_entity"] == 0.9


@pytest.mark.parametrize(
    ("text", "entity", "fragment", "expected"),
    [
        ("能不能分12期", "months", "12期", 12),
        ("我想分两年", "months", "两年", 24),
        ("一年半行吗", "months", "一年半", 18),
        ("我要第二个", "plan_choice", "第二个", 2),
        ("方案三吧", "plan_choice", "方案三", 3),
        ("我能还1.5万", "amount", "1.5万", 15000),
        ("我能还1234.5", "amount", "1234.5", 1234.5),
        ("工资2k", "amount", "2k", 2000),
        ("下周五", "date", "下周五", "2026-11-27"),
        ("15号还", "date", "15号", "2026-12-15"),
        ("月底吧", "date", "月底", "2026-11-30"),
        ("5000", "amount", "5000", 5000),  # bare number: the scanner leaves it to DIET
        ("就2", "plan_choice", "2", 2),
    ],
)
def test_each_numeric_type(
    normalizer: EntityNormalizer, text: str, entity: str, fragment: str, expected: Any
) -> None:
    result = normalise(normalizer, text, [diet(entity, text, fragment)])
    assert [(e["entity"], e["value"]) for e in result] == [(entity, expected)]
    assert type(result[0]["value"]) is type(expected)


def test_partial_span_is_widened_to_the_whole_expression(normalizer: EntityNormalizer) -> None:
    text = "我下个月5号还三千五块"
    result = normalise(
        normalizer,
        text,
        [diet("amount", text, "三千"), diet("amount", text, "五块"), diet("date", text, "5号")],
    )
    assert summary(result) == [
        ("date", "2026-12-05", 1, 6, "DIETClassifier"),
        ("amount", 3500, 7, 11, "DIETClassifier"),  # two DIET fragments, one entity
    ]


def test_explicit_units_override_diets_type(normalizer: EntityNormalizer) -> None:
    text = "能不能分12期"
    result = normalise(normalizer, text, [diet("amount", text, "12")])
    assert summary(result) == [("months", 12, 4, 7, "DIETClassifier")]


def test_unparseable_numeric_entities_are_dropped(normalizer: EntityNormalizer) -> None:
    text = "我会尽快还一些钱"
    entities = [
        diet("amount", text, "一些钱"),
        diet("date", text, "尽快"),
        diet("months", text, "会"),
        diet("plan_choice", text, "还"),
    ]
    assert normalise(normalizer, text, entities) == []


def test_scanner_adds_what_diet_missed(normalizer: EntityNormalizer) -> None:
    text = "我下个月5号还三千五块"
    result = normalise(normalizer, text, [diet("amount", text, "三千五块")])
    assert summary(result) == [
        ("date", "2026-12-05", 1, 6, "EntityNormalizer"),
        ("amount", 3500, 7, 11, "DIETClassifier"),
    ]
    config = {**EntityNormalizer.get_default_config(), "add_missing": False}
    strict = EntityNormalizer.create(config, None, None, CONTEXT)  # type: ignore[arg-type]
    assert summary(normalise(strict, text, [diet("amount", text, "三千五块")])) == [
        ("amount", 3500, 7, 11, "DIETClassifier")
    ]


def test_other_entities_pass_and_nothing_overlaps(normalizer: EntityNormalizer) -> None:
    text = "我在招商银行欠了三千五块"
    bank = {"entity": "bank", "start": 2, "end": 6, "value": "招商银行", "extractor": "X"}
    overlapping = {"entity": "hardship_reason", "start": 9, "end": 12, "value": "网贷"}
    result = normalise(normalizer, text, [bank, diet("amount", text, "三千五块"), overlapping])
    assert [e["entity"] for e in result] == ["bank", "amount"]
    assert result[0] == bank


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("被裁员", "unemployment"),
        ("失业", "unemployment"),
        ("住院", "illness"),
        ("生意亏了", "business_loss"),
        ("降薪", "income_drop"),
        ("家里出事", "family_emergency"),
        ("网贷", "other_debts"),
        ("洪水", "disaster"),
        ("illness", "illness"),  # already canonical (e.g. from a synonym)
    ],
)
def test_hardship_reasons_become_canonical(
    normalizer: EntityNormalizer, value: str, expected: str
) -> None:
    text = f"我{value}了"
    result = normalise(normalizer, text, [diet("hardship_reason", text, value)], "inform_hardship")
    assert [(e["entity"], e["value"]) for e in result] == [("hardship_reason", expected)]


def test_unknown_hardship_is_dropped(normalizer: EntityNormalizer) -> None:
    text = "我心情不好"
    entities = [diet("hardship_reason", text, "心情不好")]
    assert normalise(normalizer, text, entities, "express_worry") == []


def test_hardship_found_by_keyword_only_for_hardship_intents(
    normalizer: EntityNormalizer,
) -> None:
    text = "我最近被裁员了"
    assert summary(normalise(normalizer, text, [], "inform_hardship")) == [
        ("hardship_reason", "unemployment", 3, 6, "EntityNormalizer")
    ]
    assert normalise(normalizer, text, [], "express_worry") == []


def test_script_entity_survives_and_is_restored(
    normalizer: EntityNormalizer, converter: TraditionalToSimplified
) -> None:
    message = user_message("我下個月5號還三千五塊")
    converter.process([message])
    text = message.get(TEXT)
    # DIET appends its entities to the existing ones
    message.set(ENTITIES, [*message.get(ENTITIES), diet("amount", text, "三千五块")])
    normalizer.process([message])
    assert [(e["entity"], e["value"]) for e in message.get(ENTITIES)] == [
        ("script", "traditional"),
        ("date", "2026-12-05"),
        ("amount", 3500),
    ]
    # a component in between that replaced the entities loses nothing either
    message.set(ENTITIES, [])
    normalizer.process([message])
    assert ("script", "traditional") in [(e["entity"], e["value"]) for e in message.get(ENTITIES)]


@pytest.mark.parametrize(
    "text",
    ["", "😀😀😀", "还三千五块，" * 900, "\x00", "   "],
    ids=["empty", "emoji", "5400-chars", "nul", "spaces"],
)
def test_odd_input_never_raises(normalizer: EntityNormalizer, text: str) -> None:
    odd_entities = [
        {"entity": "amount"},
        {"entity": "date", "start": None, "end": "x", "value": None},
        {"entity": "months", "start": 5, "end": 2, "value": 3.7},
        {"entity": "plan_choice", "start": -4, "end": 10**6, "value": ["?"]},
        {"entity": "hardship_reason", "value": None},
        {"value": "no type"},
    ]
    message = user_message(text)
    message.set(ENTITIES, odd_entities)
    normalizer.process([message])
    assert isinstance(message.get(ENTITIES), list)


def test_failure_leaves_the_message_unchanged(
    normalizer: EntityNormalizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str, today: Any) -> list[dict[str, Any]]:
        raise RuntimeError("scanner bug")

    monkeypatch.setattr(components, "extract_entities", broken)
    text = "还三千五块"
    original = [diet("amount", text, "三千五块")]
    message = user_message(text)
    message.set(ENTITIES, [dict(e) for e in original])
    normalizer.process([message])
    assert message.get(ENTITIES) == original


def test_diets_entity_dicts_are_not_mutated(normalizer: EntityNormalizer) -> None:
    text = "还三千五"
    original = {**diet("amount", text, "三千"), "processors": ["EntitySynonymMapper"]}
    result = normalise(normalizer, text, [original])
    assert result[0]["processors"] == ["EntitySynonymMapper", "EntityNormalizer"]
    assert original["processors"] == ["EntitySynonymMapper"]
    assert (original["end"], original["value"]) == (3, "三千")


def test_training_style_string_intent_is_accepted(normalizer: EntityNormalizer) -> None:
    message = user_message("我被裁员了", intent="inform_hardship")
    normalizer.process([message])
    assert [e["value"] for e in message.get(ENTITIES)] == ["unemployment"]


def test_missing_text_is_handled(normalizer: EntityNormalizer) -> None:
    message = Message(data={INTENT: {"name": "greet"}})
    normalizer.process([message])
    assert message.get(ENTITIES) == []


# --- wiring in the project's pipeline -----------------------------------------------------


def test_project_config_builds_a_valid_graph_in_the_right_order() -> None:
    import rasa.shared.utils.io
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.engine.validation import validate
    from rasa.shared.data import TrainingType

    config = rasa.shared.utils.io.read_config_file(str(PROJECT_ROOT / "config.yml"))
    graph = DefaultV1Recipe().graph_config_for_recipe(config, {}, TrainingType.BOTH)
    validate(graph)
    nodes = graph.predict_schema.nodes
    by_class = {node.uses.__name__: name for name, node in nodes.items() if name.startswith("run_")}
    converter_node = by_class["TraditionalToSimplified"]
    tokenizer_node = by_class["DomainJiebaTokenizer"]
    normalizer_node = by_class["EntityNormalizer"]
    assert nodes[converter_node].needs["messages"] == "nlu_message_converter"
    assert nodes[tokenizer_node].needs["messages"] == converter_node
    assert nodes[normalizer_node].needs["messages"] == by_class["EntitySynonymMapper"]
