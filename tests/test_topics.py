"""Specific answers (bot.conversation.topics): each myth or fear finds its answer, ordinary
messages find none, and every answer exists in domain.yml, short and sourced."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bot.conversation import topics
from bot.conversation.topics import COMPLAINT_TOPICS, TOPICS, is_complaint, topic_of
from bot.settings import PROJECT_ROOT, load_settings

EXAMPLES: dict[str, list[str]] = {
    topics.BLACKLIST: [
        "逾期了是不是就上黑名单了，以后坐不了高铁",
        "我会不会变成老赖",
        "会被列入失信名单吗",
        "欠信用卡会被限制高消费吗",
        "是不是以后坐不了飞机了",
        "我會不會上黑名單",
        "逾期會不會變成失信被執行人",
    ],
    topics.FAKE_AUTHORITY: [
        "有人说他是法院的，让我马上转账到一个账户",
        "催收让我转到他个人账户，可以吗",
        "对方自称是律师，说不还就起诉我",
        "有人冒充公安打电话给我",
        "让我把钱打到他私人账户上",
        "催收的讓我轉到他個人賬戶",
        "有人自稱是法院的，叫我匯款",
    ],
    topics.LIMITATION: [
        "过了三年是不是就不用还了",
        "听说信用卡欠款3年后就自动作废了",
        "诉讼时效过了还要还吗",
        "我拖个几年是不是就没事了",
        "欠款会不会过期啊",
        "過了三年是不是就不用還了",
        "聽說欠款過了時效就不用還",
        "拖五年就一筆勾銷了吧",
    ],
    topics.HIDING: [
        "那我换手机号躲起来行不行",
        "我换个号码他们是不是就找不到我了",
        "我不接电话会怎么样",
        "干脆跑路算了",
        "把催收电话都拉黑可以吗",
        "我出国躲几年行不行",
        "那我換手機號躲起來行不行",
        "我關機不理他們可以嗎",
        "玩失蹤會怎樣",
    ],
    topics.JAIL: [
        "我会不会坐牢啊 好害怕",
        "还不上会被判刑吗",
        "这算不算恶意透支",
        "警察会不会来抓我",
        "欠信用卡是犯罪吗",
        "我會不會坐牢啊 好害怕",
        "會唔會坐監",
        "還不起會不會被抓",
        "這樣算刑事嗎",
    ],
    topics.CREDIT_REPAIR: [
        "征信修复…靠谱吗",
        "网上有人说能洗白征信，真的假的",
        "花钱能删除逾期记录吗",
        "征信铲单是什么",
        "有公司说能修复征信",
        "徵信修復…靠譜嗎",
        "有人說交錢可以消除逾期記錄",
        "洗白徵信要多少錢",
    ],
    topics.PAID_AGENCY: [
        "有人说交钱能帮我停息挂账",
        "找代办停息挂账靠谱吗",
        "有个法务公司说能帮我协商减免",
        "中介说收5%服务费帮我办分期",
        "律师说能替我跟银行谈停息",
        "有人說交錢能幫我停息掛賬",
        "代辦停息掛賬的公司可信嗎",
        "付費找第三方幫我協商可以嗎",
    ],
    topics.POLICY_MYTH: [
        "停息挂账是国家政策，你们必须给我办",
        "国家出台政策了可以停息挂账",
        "停息挂账是我的权利",
        "你们必须给我办个性化分期",
        "央行规定逾期可以停息挂账",
        "停息掛賬是國家政策，你們必須給我辦",
        "國家規定可以停息掛賬的",
        "停息掛賬是法律規定的吧",
    ],
    topics.NIGHT_CALLS: [
        "昨晚11点还有人打电话催我，这合法吗",
        "凌晨两点打电话催收",
        "半夜打电话给我",
        "晚上十一点半还在打电话",
        "23点还给我打电话",
        "早上6点就打电话催款",
        "昨晚11點還有人打電話催我，這合法嗎",
        "深夜打電話騷擾我",
        "今天早上七點就來電催收",
    ],
    topics.STOP_CALLS: [
        "别再给我打电话了",
        "不要再打了",
        "你们天天打电话烦不烦",
        "能不能别再催我了",
        "停止催收",
        "别再給我打電話了",
        "不要再打來了",
        "你們每天打電話我受不了",
    ],
    topics.CONTACT_EMPLOYER: [
        "会不会去我单位闹",
        "会不会打电话到我公司",
        "不想让我领导知道",
        "你们会联系我同事吗",
        "老板知道了会开除我的",
        "會不會去我單位鬧",
        "會唔會打電話去我公司",
        "你們會通知我老闆嗎",
    ],
    topics.CONTACT_FAMILY: [
        "会不会打电话给我爸妈",
        "你们会不会联系我家人",
        "不想让我老婆知道",
        "会爆通讯录吗",
        "我妈接到了你们的电话",
        "會不會打電話給我爸媽",
        "你們會聯繫我的家人嗎",
        "唔好話俾我屋企人知, 會唔會通知我父母",
    ],
    topics.OFFICIAL_NUMBER: [
        "你们是不是骗子",
        "官方电话是多少",
        "这个是不是诈骗",
        "怎么证明你是银行",
        "你们客服电话多少",
        "你們是不是騙子",
        "官方電話是多少",
        "這是詐騙吧",
    ],
    topics.HONG_KONG: [
        "我在香港",
        "香港的法律怎么样",
        "我是香港人，欠款能做IVA吗",
        "香港可以做债务重组计划吗",
        "香港的信用卡欠款點算",
        "我喺香港，點算好",
        "香港可唔可以申請破產",
    ],
    topics.TAIWAN: [
        "台灣的法律怎樣",
        "我在台湾",
        "台湾可以前置协商吗",
        "在台湾欠银行的钱怎么处理",
        "我住臺灣，要怎麼處理",
        "台灣的消債條例怎麼用",
        "可以申請更生嗎",
    ],
}

ORDINARY = [
    "我想办分期",
    "我还欠多少",
    "我一个月赚五千",
    "你好",
    "我想办停息挂账",
    "停息挂账怎么申请",
    "我想分三年还",
    "36期是三年吧",
    "选第一个",
    "好的",
    "确认",
    "嗯",
    "转人工",
    "我要投诉",
    "我失业了",
    "我老婆生病了住院",
    "家里有两个孩子要养",
    "我爸妈都靠我养",
    "我是张伟老婆，他欠你们多少钱",
    "我被骗子骗了钱，所以还不上",
    "逾期会上征信吗",
    "会不会起诉我",
    "逾期记录多久能消掉",
    "我下个月10号能还三千",
    "每个月最多还500",
    "都不行，太多了",
    "能不能再少一点",
    "卡号尾号6217 身份证后四位1234",
    "我在公司上班，收入不稳定",
    "公司倒闭了，工资也没发",
    "我换工作了收入少了",
    "晚上再说吧",
    "明天早上8点联系我",
    "下午3点方便",
    "利息怎么算",
    "违约金是多少",
    "怎么还款",
    "谢谢",
    "再见",
    "我想提前还清",
    "我刚才收入说错了，应该是六千",
    "我想辦分期",
    "我還欠多少",
    "我一個月賺五千",
    "我唔知點算",
    "手機銀行怎麼還款",
    "我想改一下收入",
    "你是机器人吗",
    "lost my job 😩",
    "",
    # near misses taken from the NLU data: a hardship story, a fee question, a contact preference
    "找朋友借钱还信用卡",
    "我被公司辞退了",
    "老板跑路了，工资也没拿到",
    "催收公司是哪家",
    "逾期了会被银行拉黑吗",
    "逾期记录五年后会消失吗",
    "香港今日天氣點",
    "台灣哪裡好玩",
    "我想找个对象",
    "这欠款是假的",
    "手續費是一次收還是分期收",
    "还多少能停止催收",
    "打我电话就行，别发短信",
    "上班時間別打",
    "法院会不会来我家",
    "半夜会不会打电话",
    "要自力更生",
    "我月收入大概三萬台幣",
    "我老公不知道我欠錢",
]


@pytest.mark.parametrize(
    ("expected", "text"),
    [(topic, text) for topic, texts in EXAMPLES.items() for text in texts],
)
def test_topic_is_recognised(expected: str, text: str) -> None:
    assert topic_of(text) == expected


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_messages_have_no_topic(text: str) -> None:
    assert topic_of(text) is None


def test_every_topic_has_examples_in_both_scripts() -> None:
    from bot.nlu.script import detect_script

    assert set(EXAMPLES) == set(TOPICS)
    for topic, texts in EXAMPLES.items():
        scripts = {detect_script(text) for text in texts}
        assert len(texts) >= 7 and "traditional" in scripts, topic


def test_only_a_reported_breach_is_a_complaint() -> None:
    assert COMPLAINT_TOPICS == {topics.NIGHT_CALLS, topics.FAKE_AUTHORITY}
    assert topic_of("昨晚11点还有人打电话催我，这合法吗") in COMPLAINT_TOPICS
    assert topic_of("别再给我打电话了") not in COMPLAINT_TOPICS


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("昨晚11点还有人打电话催我，这合法吗", True),
        ("凌晨兩點打電話催收", True),
        ("催收给我同事打电话了", True),
        ("你们害得我家里人都知道了", True),
        ("我妈接到了你们的电话", True),
        ("会不会打电话给我爸妈", False),
        ("会不会去我单位闹", False),
        ("怕老婆知道了会生气", False),
        ("别再给我打电话了", False),
        ("我会不会坐牢啊 好害怕", False),
        ("我想办分期", False),
    ],
)
def test_is_complaint(text: str, complaint: bool) -> None:
    assert is_complaint(text) is complaint


def test_hong_kong_and_taiwan_come_before_mainland_answers() -> None:
    assert topic_of("在香港欠钱会不会坐牢") == topics.HONG_KONG
    assert topic_of("台灣有沒有停息掛賬的國家政策") == topics.TAIWAN
    assert topic_of("半夜打电话给我爸妈催款") == topics.NIGHT_CALLS


@pytest.fixture(scope="module")
def responses() -> dict[str, Any]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return domain["responses"]


def _text(responses: dict[str, Any], name: str) -> str:
    return responses[name][0]["text"]


@pytest.mark.parametrize("name", TOPICS)
def test_every_topic_answer_exists_and_fits_a_phone(responses: dict[str, Any], name: str) -> None:
    text = _text(responses, name)
    assert 40 <= len(text.format(bank_hotline="95588")) <= 170
    for threat in ("后果自负", "必将", "一定会被起诉", "立即坐牢"):
        assert threat not in text


@pytest.mark.parametrize(
    ("name", "facts"),
    [
        (topics.LIMITATION, ["3年", "重新计算", "仍然存在"]),
        (topics.HIDING, ["更换联系方式", "恶意透支"]),
        (topics.JAIL, ["恶意透支", "两次", "3个月", "可能"]),
        (topics.CREDIT_REPAIR, ["骗局", "免费", "异议", "5年"]),
        (topics.PAID_AGENCY, ["5%–8%", "免费"]),
        (topics.POLICY_MYTH, ["不是", "第70条", "60期"]),
        (topics.NIGHT_CALLS, ["22:00", "8:00", "投诉"]),
        (topics.STOP_CALLS, ["22:00", "催收就会停止"]),
        (topics.CONTACT_EMPLOYER, ["本人", "第三人", "投诉"]),
        (topics.CONTACT_FAMILY, ["本人", "第三人", "投诉"]),
        (topics.OFFICIAL_NUMBER, ["{bank_hotline}", "个人账户"]),
        (topics.HONG_KONG, ["内地", "不同", "IVA", "DRP", "专员"]),
        (topics.TAIWAN, ["内地", "不同", "第151条", "前置协商", "专员"]),
    ],
)
def test_answers_state_the_sourced_facts(
    responses: dict[str, Any], name: str, facts: list[str]
) -> None:
    text = _text(responses, name)
    for fact in facts:
        assert fact in text, (name, fact)


def test_regulation_holds_the_facts_the_answers_use() -> None:
    regulation = (PROJECT_ROOT / "docs" / "regulation.md").read_text(encoding="utf-8")
    for fact in (
        "art. 188",
        "arts. 188, 192, 195",
        "changes contact details",
        "5–8%",
        "骗局",
        "art. 25",
        "art. 70",
        "22:00–08:00",
        "third parties never told",
        "Cap 6",
        "art. 151",
        "前置協商",
    ):
        assert fact in regulation, fact


def test_official_number_never_makes_up_a_number() -> None:
    secrets = {
        name: "x" for name in ("ACTION_SERVER_TOKEN", "IDENTITY_PEPPER", "WIDGET_TOKEN_SECRET")
    }
    default = load_settings(secrets).bank_hotline_text
    assert "信用卡背面" in default and "官方App" in default
    assert not any(char.isdigit() for char in default)
    configured = load_settings({**secrets, "BANK_HOTLINE": " 95588 "}).bank_hotline_text
    assert configured.startswith("95588（") and "信用卡背面" in configured
