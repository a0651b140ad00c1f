"""Specific answers to the myths and fears cardholders actually raise.

The general intents (ask_legal_risk, ask_collection_practice …) answer with a whole block; a
cardholder who asks "过了三年是不是就不用还了" or "会不会打电话给我爸妈" needs the one fact that
answers them (issue 15: these were answered with the wrong template or not at all). ``topic_of``
recognises them by words in the Simplified text, in plain Python, so it works on any turn and
before any model. Every answer lives in domain.yml (block "specific answers"), worded only from
docs/regulation.md.

Patterns are deliberately narrow: an ordinary request (`我想办停息挂账`, `分三年还`, `我老婆生病了`)
must give None, so the dialogue goes on as before (tests/test_topics.py holds both sides).
Measured on the 6,570 NLU examples (data/nlu, tests/nlu/holdout.yml): 175 get a topic, 89%
of them in the intents the topics refine (ask_legal_risk, ask_collection_practice, complain,
express_worry); on tests/nlu/crisis_ordinary.txt 14 of 731. Not a crisis screen: 4 distress
examples mention a topic too ("…别再打了"), so callers run the crisis screen first.
About 0.3 ms a message.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.nlu.script import to_simplified

LIMITATION = "utter_topic_limitation"
HIDING = "utter_topic_hiding"
JAIL = "utter_topic_jail"
CREDIT_REPAIR = "utter_topic_credit_repair"
PAID_AGENCY = "utter_topic_paid_agency"
POLICY_MYTH = "utter_topic_policy_myth"
NIGHT_CALLS = "utter_topic_night_calls"
STOP_CALLS = "utter_topic_stop_calls"
CONTACT_EMPLOYER = "utter_topic_contact_employer"
CONTACT_FAMILY = "utter_topic_contact_family"
OFFICIAL_NUMBER = "utter_topic_official_number"
HONG_KONG = "utter_topic_hong_kong"
TAIWAN = "utter_topic_taiwan"
FAKE_AUTHORITY = "utter_topic_fake_authority"
BLACKLIST = "utter_topic_blacklist"

# Topics whose message reports a breach of the collection rules: record a complaint as well.
COMPLAINT_TOPICS: frozenset[str] = frozenset({NIGHT_CALLS, FAKE_AUTHORITY})
# Fears that are a breach once they happened ("催收给我同事打电话了"), not while asked about
# ("会不会打电话给我爸妈"): see ``is_complaint``.
REPORTABLE_TOPICS: frozenset[str] = frozenset({CONTACT_FAMILY, CONTACT_EMPLOYER})
_HAPPENED = re.compile(
    r"已经|昨天|前天|今天|刚才|刚刚|上周|上个月|天天|一直|总是|老是|害得|害我|"
    r"了(?!会|就|怎么|吗|呢|么)"
)
_ASKED = re.compile(r"会不会|会唔会|能不能|吗|嗎|么|\?|？|怕|担心|不想让|别让")

_FAMILY = (
    r"(?:爸妈|父母|爸爸|妈妈|我爸|我妈|老爸|老妈|家人|家里人|家属|老婆|老公|妻子|丈夫|媳妇|"
    r"孩子|子女|儿子|女儿|亲戚|亲人|朋友|兄弟|姐妹|哥哥|姐姐|弟弟|妹妹|男朋友|女朋友|"
    r"通讯录|联系人|紧急联系人|老家)"
)
_WORK = r"(?:单位|(?<![收包])公司|老板|领导|上司|同事|工作的地方|上班的地方|人事|HR|hr)"
# "找" and "催" only with "我": "找朋友借钱" is a hardship story, "找我爸妈" a fear.
_CONTACT_VERB = (
    r"(?:(?:打电话给|打电话到|打电话去|打给|打到|打去|电话打到|联系|通知|告诉|骚扰|发短信给|爆)"
    r"(?:到|去)?(?:我的?)?|(?:找|催)(?:到|上)?我的?)"
)
_CALL = r"(?:打电话|打来|来电|电话|打给我|催收|催款|催我|短信|上门|找我)"

_HOUR = r"(\d{1,2}|[零一二两三四五六七八九十]{1,3})"
_NUMERALS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_NUMERALS |= {"八": 8, "九": 9, "十": 10}
_TIME = re.compile(
    r"(昨天晚上|昨晚|今晚|今天晚上|前天晚上|每天晚上|晚上|夜里|夜间|半夜|深夜|凌晨|"
    r"今天早上|昨天早上|每天早上|大清早|一大早|清晨|早晨|早上|大早上)?\s*(?:的)?\s*"
    + _HOUR
    + r"\s*(?:点|点钟|时|:|：)"
)
_NIGHT_WORDS = re.compile(r"半夜|深夜|凌晨|三更半夜|大半夜|夜里|睡觉的时候|睡觉时")


def _hour(raw: str) -> int | None:
    if raw.isdigit():
        return int(raw)
    if raw in _NUMERALS:
        return _NUMERALS[raw]
    if raw.startswith("十"):  # 十一, 十二
        return 10 + _NUMERALS.get(raw[1:], 0)
    if raw.endswith("十") and len(raw) == 2:  # 二十
        return _NUMERALS.get(raw[0], 0) * 10
    if len(raw) == 3 and raw[1] == "十":  # 二十三
        return _NUMERALS.get(raw[0], 0) * 10 + _NUMERALS.get(raw[2], 0)
    return None


def _is_night(prefix: str | None, hour: int) -> bool:
    """True when the clock time lies in 22:00–08:00 (the guideline's quiet hours)."""
    if hour > 24:
        return False
    if hour >= 22 or hour in (0, 24):
        return True
    if not prefix:
        return False  # a bare "7点" may well be 19:00
    if any(word in prefix for word in ("晚", "夜")):
        return hour in (10, 11, 12) or hour <= 5
    if "凌晨" in prefix:
        return hour < 8 or hour == 12
    return hour < 8  # 早上 / 清晨 / 大清早


# "半夜会不会打电话" asks about the rules (the general answer covers it); a report says it happened.
_FUTURE = re.compile(r"会不会|会唔会|还会|会在|会打|会来|会吗|以后")
_PAST = re.compile(r"昨|前天|今天|今晚|刚才|刚刚|又|了|已经|天天|每天|经常|总是|老是|一直|被|吵醒")


def _night_call(text: str) -> bool:
    """A reported collection contact between 22:00 and 08:00 (not a question about one)."""
    if not re.search(_CALL, text):
        return False
    if _FUTURE.search(text) and not _PAST.search(text):
        return False
    if _NIGHT_WORDS.search(text):
        return True
    return any(
        (hour := _hour(match.group(2))) is not None and _is_night(match.group(1), hour)
        for match in _TIME.finditer(text)
    )


_PLACE_CONTEXT = (
    r"(?:法|欠|债|还|破产|信用卡|卡|银行|怎么办|点算|能不能|可不可以|可唔可以|申请|协商|处理|"
    r"规定|政策|会不会|会唔会|适用|一样|怎样|怎么样|点样)"
)


def _place(names: str, extra: str) -> re.Pattern[str]:
    """A Hong Kong / Taiwan question: living there, or the place with debt or law words."""
    return re.compile(
        rf"(?:我|我们|本人)(?:人)?(?:在|喺|住在?|系|是|系喺)(?:{names})|"
        rf"(?:{names}).{{0,10}}{_PLACE_CONTEXT}|"
        rf"(?:法律|法例|欠款|债务|还款|破产|信用卡).{{0,10}}(?:{names})|{extra}"
    )


_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (HONG_KONG, _place(r"香港", r"个人自愿安排|债务重组计划|破产条例|\bIVA\b|\bDRP\b")),
    (TAIWAN, _place(r"台湾", r"前置协商|消债条例|债务清理条例|债清|(?<!力)更生")),
    (
        PAID_AGENCY,
        re.compile(
            r"代办|代理(?:停息|协商|分期|挂账|还款)|中介|法务公司|协商公司|债务优化|反催收|"
            r"(?:交钱|付费|花钱|给钱|服务费|中介费|佣金|定金|押金).{0,10}"
            r"(?:停息|挂账|协商|减免|帮我|帮忙|搞定|办下来|办分期)|"
            r"(?:律师|法务|第三方|机构|有人|别人).{0,8}"
            r"(?:帮|替|代)(?:我|你)?.{0,4}(?:停息|挂账|协商|谈|减免|分期)"
        ),
    ),
    (
        CREDIT_REPAIR,
        re.compile(
            r"征信.{0,4}(?:修复|洗白|铲单|花钱|删掉|消掉|清除|漂白)|"
            r"(?:修复|洗白|铲单|漂白)(?:征信|信用|记录|逾期)|"
            r"(?:花钱|交钱|付费|收费|找人|中介|机构|有人说).{0,8}(?:删|消除|去掉|抹掉|清除)"
            r".{0,4}(?:记录|逾期|征信)"
        ),
    ),
    (
        POLICY_MYTH,
        re.compile(
            r"(?:国家|政府|央行|人民银行|银保监|金融监管|国务院|监管|法律|法规|上面|新规|新政)"
            r".{0,6}(?:政策|规定|要求|出台|文件|明确|允许|规定了|说了)?.{0,10}"
            r"(?:停息挂账|停息|挂账|个性化分期|免息|减免)|"
            r"(?:停息挂账|停息|挂账|个性化分期).{0,10}"
            r"(?:国家政策|政策|法律规定|规定|权利|必须|有权|义务|应该给我|新规|新政)|"
            r"(?:必须|一定要|凭什么不|有义务|应该)(?:给我|帮我|替我)?(?:办|批|同意)"
            r"(?:停息|挂账|个性化分期|分期)"
        ),
    ),
    (
        LIMITATION,
        re.compile(
            r"诉讼时效|时效|"
            r"^(?!.*(?:记录|征信)).*?(?:三|3|两|2|五|5|几|十)年.{0,10}"
            r"(?:不用还|不还也|不用管|就没事|就没了|自动|作废|消失|勾销|清零|就算了|就过了|不能起诉|告不了)|"
            r"(?:欠款|欠的钱|债|信用卡).{0,6}(?:会不会|能不能)?(?:过期|作废|失效|一笔勾销)|"
            r"拖.{0,6}(?:就不用还|不用还了|就没事)"
        ),
    ),
    (
        HIDING,
        re.compile(
            r"躲起来|躲着|躲一躲|躲债|躲开|玩失踪|失联|人间蒸发|找不到我|联系不上我|"
            r"(?:我|干脆|直接|那就)跑路|跑路(?:算了|行不行|可以吗|会怎样|会怎么样|怎么样)|"
            r"把.{0,6}拉黑|拉黑(?:催收|他们|你们|电话|号码)|"
            r"(?:换|改|注销|销)(?:个|掉|了)?(?:手机号|手机号码|号码|电话号码|号|手机|电话|微信)"
            r".{0,8}(?:行不行|可以吗|可不可以|会怎样|会怎么样|会不会|找得到|找不到|就不用|就没事|能躲)|"
            r"(?:不接|不回|关机|不理)(?:电话|短信|他们)?.{0,8}"
            r"(?:行不行|可以吗|可不可以|会怎样|会怎么样|怎么样|会不会|就不用|就没事|有事吗|行吗)|"
            r"出国.{0,4}(?:躲|就不用|就没事|行不行|可以吗)"
        ),
    ),
    (
        JAIL,
        re.compile(
            r"坐牢|牢饭|判刑|蹲监狱|进监狱|入狱|监狱|坐监|蹲号子|被抓|抓我|抓走|拘留|"
            r"刑事|犯罪|犯法|恶意透支|被判|公安.{0,6}(?:找|抓|上门|来)|警察.{0,6}(?:找|抓|上门|来)"
        ),
    ),
    (
        CONTACT_EMPLOYER,
        re.compile(
            _CONTACT_VERB + _WORK + r"|"
            r"(?:去|到|来)(?:我的?)?" + _WORK + r".{0,4}(?:闹|找|催|要钱|堵)|"
            r"给(?:我的?)?"
            + _WORK
            + r".{0,4}(?:打电话|打了电话|发短信)|"
            + _WORK
            + r".{0,6}(?:(?<!不)知道|闹|上门|接到.{0,5}(?:电话|催收)|被.{0,2}(?:打|催|骚扰))"
        ),
    ),
    (
        CONTACT_FAMILY,
        re.compile(
            _CONTACT_VERB + _FAMILY + r"|"
            r"给(?:我的?)?" + _FAMILY + r".{0,4}(?:打电话|打了电话|发短信)|"
            r"打我的?" + _FAMILY + r".{0,2}电话|"
            r"(?:打到|打去|找到|找上|去)我的?(?:家里|老家|家)(?!人)|"
            + _FAMILY
            + r".{0,6}(?:(?<!不)知道|接到.{0,5}(?:电话|催收)|被.{0,2}(?:打|催|骚扰)|会不会被|上门)|"
            r"爆通讯录|爆我通讯录"
        ),
    ),
    (
        STOP_CALLS,
        re.compile(
            r"(?:别|不要|不准|不许|能不能不要|能不能别|可不可以不要|请不要|请别)"
            r"(?:再|总|老|天天|一直)(?:给我|跟我)?(?:打|催|联系|骚扰|发短信|烦)|"
            r"(?:别|不要|不准|不许|能不能不要|能不能别|可不可以不要|请不要|请别)"
            r"(?:给我|跟我)?(?:打电话|打来|打过来|联系我|催我|催收|骚扰|烦我)|"
            r"^(?:请|麻烦)?(?:你们)?停止(?:催收|打电话|联系我|催款)|"
            r"(?:天天|每天|一天到晚|一天好几个|一直|不停地?|老是|总是)(?:给我)?(?:打电话|打来|催)|"
            r"电话轰炸|打爆.{0,2}电话|电话.{0,2}打爆|烦死了.{0,4}电话"
        ),
    ),
    (
        BLACKLIST,
        re.compile(r"黑名单|失信(?:被执行人|名单)?|老赖|坐不了(?:高铁|飞机|火车)|限制高消费|限高"),
    ),
    (
        # someone claims to be a court, the police or a lawyer, or wants money in a personal
        # account: the 2026 guideline forbids posing as a court or government body
        FAKE_AUTHORITY,
        re.compile(
            r"(?:说|自称|冒充|假装|装成).{0,4}(?:是)?(?:法院|公安|警察|检察院|律师|政府)|"
            r"(?:转|打|汇|还)(?:钱|款)?(?:到|给|进)?.{0,6}(?:个人|私人|他的|她的|他个人|她个人)"
            r"(?:账户|帐户|账号|卡)"
        ),
    ),
    (
        OFFICIAL_NUMBER,
        re.compile(
            r"(?:你们|你|这|这个|对方|这个号码?|这个电话|这个短信|这个链接)"
            r"(?:是不是|是|不会是|别是|就是|肯定是)?(?:个|一个)?"
            r"(?:骗子|诈骗|骗人|假的|钓鱼)(?!分子|犯|团伙)|"
            r"是不是(?:骗子|诈骗|骗人|假的)|(?:骗子|诈骗)(?:吧|吗|啊|？|\?)|"
            r"官方(?:电话|号码|客服|热线|联系方式)|客服(?:电话|号码|热线)|(?:银行|你们)的?(?:电话|号码|热线)"
            r".{0,4}(?:是多少|多少|是什么)|(?:怎么|如何)(?:证明|确认|知道)(?:你们?|这)是.{0,3}银行|"
            r"是不是(?:真的|正规)?(?:的)?银行|真的是银行"
        ),
    ),
)


def _rules() -> tuple[tuple[str, Callable[[str], object]], ...]:
    """Rules in the order they are tried (see ``topic_of``)."""
    patterns = {name: pattern.search for name, pattern in _PATTERNS}
    order = (HONG_KONG, TAIWAN, NIGHT_CALLS, PAID_AGENCY, CREDIT_REPAIR, POLICY_MYTH, LIMITATION)
    order += (FAKE_AUTHORITY, HIDING, JAIL, BLACKLIST, CONTACT_EMPLOYER, CONTACT_FAMILY)
    order += (STOP_CALLS,)
    order += (OFFICIAL_NUMBER,)
    return tuple((name, _night_call if name == NIGHT_CALLS else patterns[name]) for name in order)


_RULES = _rules()
TOPICS: tuple[str, ...] = tuple(name for name, _ in _RULES)


def topic_of(text: str) -> str | None:
    """The name of the specific response answering ``text``, or None for an ordinary message.

    Works on any script (Traditional is converted first). Order matters where one message
    touches two topics: Hong Kong / Taiwan first (mainland facts do not apply there), then a
    complaint (night calls), the money myths, and the fears about contact last.
    """
    if not text or not text.strip():
        return None
    simplified = to_simplified(text.strip())
    for name, matches in _RULES:
        if matches(simplified):
            return name
    return None


def is_complaint(text: str) -> bool:
    """True when ``text`` reports a breach of the collection rules: a call in 22:00–08:00, or
    the debt raised with family or the employer as something that happened (not a worry)."""
    topic = topic_of(text)
    if topic in COMPLAINT_TOPICS:
        return True
    if topic not in REPORTABLE_TOPICS:
        return False
    simplified = to_simplified(text)
    return bool(_HAPPENED.search(simplified)) and not _ASKED.search(simplified)
